/**
 * Bad input from API callers over REST and gRPC against config-service on
 * the real PostgreSQL (issue 13, items 12-16): NUL characters, integers
 * beyond their type, huge echoed values, bodies that are not JSON, and
 * configuration file names. Each is a 400 / INVALID_ARGUMENT with a message,
 * counted, and leaves nothing behind; none is an internal error.
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_REST_JSON_DEPTH } from '@opamp/desired-state';
import { AgentCapabilities as C } from '@opamp/protocol';
import { ConfigServiceBed } from './config-service.bed';

const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';
const files = (name = 'c.yaml', body = STATIC) => ({ [name]: { body, contentType: 'text/yaml' } });

const AGENT_UID = 'ab'.repeat(16);

let bed: ConfigServiceBed;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('api-input', { tenants: 1 });
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

function message(r: { json: Record<string, unknown> }): string {
  return String((r.json['error'] as { message?: string } | undefined)?.message);
}

/** Nothing of the tenant changed: no configuration, assignment, token, command or audit event beyond `base`. */
async function auditCount(): Promise<number> {
  const { rows } = await bed.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1`, [bed.tenants[0].id]);
  return rows[0]['n'] as number;
}

describe('NUL characters from an API caller (item 12)', () => {
  beforeAll(async () => {
    expect((await bed.rest('POST', '/configurations', { name: 'nul-base', files: files() })).status).toBe(200);
    await bed.putAgent({ tenant: bed.tenants[0].id, uid: Buffer.from(AGENT_UID, 'hex'), capabilities: C.ReportsStatus, labels: { env: 'nul' }, customCapabilities: ['io.example.ping'] });
  });

  const custom = { capability: 'io.example.ping', type: 'pi\u0000ng' };
  const cases: Array<[string, string, string, string, unknown, unknown, RegExp]> = [
    ['a config body', 'POST', '/configurations', 'CreateConfiguration', { name: 'n1', files: files('c.yaml', `${STATIC}# \u0000`) }, null, /c\.yaml\.body must not contain NUL/],
    ['a description', 'POST', '/configurations', 'CreateConfiguration', { name: 'n2', description: 'a\u0000b', files: files() }, null, /^description must not contain NUL/],
    ['a configuration name', 'POST', '/configurations', 'CreateConfiguration', { name: 'n\u00003', files: files() }, null, /^name must not contain NUL/],
    ['a file name', 'POST', '/configurations', 'CreateConfiguration', { name: 'n4', files: files('c\u0000.yaml') }, null, /must not contain NUL/],
    ['a selector', 'POST', '/assignments', 'CreateAssignment', { name: 'a1', configurationName: 'nul-base', selector: 'env=\u0000' }, 'assignment', /selector must not contain NUL/],
    ['an agent token name', 'POST', '/agent-tokens', 'CreateAgentToken', { name: 'tok\u0000' }, null, /^name must not contain NUL/],
    ['a custom message type', 'POST', `/agents/${AGENT_UID}/custom-messages`, 'SendCustomMessage', custom, null, /^type must not contain NUL/],
  ];

  it.each(cases)('in %s is a 400 over REST and INVALID_ARGUMENT over gRPC, storing nothing', async (_what, method, path, rpc, body, wrap, expected) => {
    const before = await auditCount();
    const internal = bed.api.metrics.errors['INTERNAL'] ?? 0;
    const r = await bed.rest(method, path, body);
    expect({ status: r.status, message: message(r) }).toEqual({ status: 400, message: expect.stringMatching(expected) });
    const grpcReq = wrap ? { [wrap as string]: body } : rpc === 'SendCustomMessage' ? { ...custom, instanceUid: AGENT_UID } : body;
    await expect(bed.rpc(rpc, grpcReq)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/must not contain NUL/) });
    expect(await auditCount()).toBe(before);
    expect(bed.api.metrics.errors['INTERNAL'] ?? 0).toBe(internal);
  });

  it('in the audit query (REST and gRPC), and over gRPC in a config body', async () => {
    const r = await bed.rest('GET', `/audit-events?query=${encodeURIComponent('x\u0000')}`);
    expect({ status: r.status, message: message(r) }).toEqual({ status: 400, message: 'query must not contain NUL characters (U+0000)' });
    await expect(bed.rpc('ListAuditEvents', { query: 'x\u0000' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'query must not contain NUL characters (U+0000)' });
    await expect(bed.rpc('CreateConfiguration', { name: 'g1', files: files('c.yaml', `${STATIC}#\u0000`) })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/body must not contain NUL/),
    });
    expect((await bed.rest('GET', '/configurations')).json['configurations']).toEqual([expect.objectContaining({ name: 'nul-base' })]);
    expect(bed.api.metrics.errors['INTERNAL'] ?? 0).toBe(0);
  });
});

describe('integers beyond their field (item 13)', () => {
  beforeAll(async () => {
    expect((await bed.rest('POST', '/configurations', { name: 'ints', files: files() })).status).toBe(200);
  });

  it('REST: priority 1e308, soakTimeMs 2^53, version 4294967297 and afterId 2^70 are 400s naming the field; nothing is stored', async () => {
    const p = await bed.rest('POST', '/assignments', { name: 'big', configurationName: 'ints', selector: 'env=x', priority: 1e308 });
    expect({ status: p.status, message: message(p) }).toEqual({ status: 400, message: expect.stringMatching(/^'assignment\.priority' must be an integer between -2147483648 and 2147483647/) });
    expect((await bed.rest('GET', '/assignments/big')).status).toBe(404);
    const s = await bed.rest('POST', '/rollouts', { assignmentName: 'big', soakTimeMs: 2 ** 53 });
    expect({ status: s.status, message: message(s) }).toEqual({ status: 400, message: expect.stringMatching(/^'soakTimeMs' must be an integer between 0 and 4294967295/) });
    const v = await bed.rest('GET', '/configurations/ints/versions/4294967297');
    expect({ status: v.status, message: message(v) }).toEqual({ status: 400, message: expect.stringMatching(/^'version' must be an integer between/) });
    const e = await bed.rest('GET', `/rollouts/none/events?afterId=${2n ** 70n}`);
    expect({ status: e.status, message: message(e) }).toEqual({ status: 400, message: expect.stringMatching(/^'afterId' must be an integer between/) });
  });

  it('gRPC: a 64-bit value beyond 2^53 is INVALID_ARGUMENT naming the field, not rounded', async () => {
    await expect(bed.rpc('ListRolloutEvents', { name: 'none', afterId: '9007199254740993' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      // The test's own protobufjs (no Long either) may round the value on the wire; whatever arrives beyond 2^53 - 1 is refused.
      details: expect.stringMatching(/^after_id must be an integer between -9007199254740991 and 9007199254740991, got "900719925474099[23]"$/),
    });
  });
});

describe('request bytes that are not a message of the rpc (gRPC fuzzing)', () => {
  /** A unary call with these raw bytes as its request body. */
  function rawCall(method: string, body: Buffer, token: string | null): Promise<grpc.ServiceError | 'ok'> {
    const client = new grpc.Client(`127.0.0.1:${bed.primary.config.grpcPort}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve) => {
      client.makeUnaryRequest(`/fleet.v1.FleetService/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, md, { deadline: Date.now() + 10_000 }, (err) => {
        client.close();
        resolve(err ?? 'ok');
      });
    });
  }

  // A varint of field 2 cut off before its last byte; a field 15 of wire type 7, which does not exist.
  const cut = Buffer.from([0x10, 0xff, 0xff]);
  const badWireType = Buffer.from([0x7f, 0x00]);

  it('are INVALID_ARGUMENT naming the request type (after authentication), counted, and the channel still answers', async () => {
    const internal = bed.api.metrics.errors['INTERNAL'] ?? 0;
    const invalid = bed.api.metrics.errors['INVALID_ARGUMENT'] ?? 0;
    const token = bed.tenants[0].token;
    for (const [method, body, type] of [['ListAgents', cut, 'ListAgentsRequest'], ['CreateConfiguration', badWireType, 'CreateConfigurationRequest']] as const) {
      const err = await rawCall(method, body, token);
      expect(err).not.toBe('ok');
      expect({ code: (err as grpc.ServiceError).code, details: (err as grpc.ServiceError).details }).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: `the request body is not a valid fleet.v1.${type} message (protobuf decoding failed)`,
      });
    }
    // Without a token the caller learns nothing about its bytes.
    expect(await rawCall('ListAgents', cut, null)).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(bed.api.metrics.errors['INTERNAL'] ?? 0).toBe(internal);
    expect(bed.api.metrics.errors['INVALID_ARGUMENT'] ?? 0).toBe(invalid + 2);
    expect(await bed.rpc('ListConfigurations', {}, { deadlineMs: 5_000 })).toHaveProperty('configurations');
  });

  it('an empty body is the request with every field at its default', async () => {
    expect(await rawCall('ListAgents', Buffer.alloc(0), bed.tenants[0].token)).toBe('ok');
  });
});

describe('echoed values are capped (item 14)', () => {
  it('gRPC GetAgent with a 300,000-character uid answers at once with a short message, and the channel still answers', async () => {
    const huge = 'a'.repeat(300_000);
    const err = (await bed.rpc('GetAgent', { instanceUid: huge }, { deadlineMs: 5_000 }).then(
      () => new Error('GetAgent succeeded'),
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^instance_uid must be 32 hex digits \(16 bytes\), got "a{64}"…\(300000 bytes\)$/);
    expect(await bed.rpc('ListConfigurations', {}, { deadlineMs: 5_000 })).toHaveProperty('configurations');
  });

  it('REST: a 300,000-character uid or file name comes back capped', async () => {
    expect((await bed.rest('POST', '/configurations', { name: 'echo', files: files() })).status).toBe(200);
    const r = await bed.rest('POST', '/configurations/echo:render', { instanceUid: 'b'.repeat(300_000) });
    expect({ status: r.status, message: message(r) }).toEqual({ status: 400, message: expect.stringMatching(/got "b{64}"…\(300000 bytes\)$/) });
    const f = await bed.rest('POST', '/configurations', { name: 'echo2', files: files(`${'f'.repeat(300_000)}.yaml`) });
    expect(f.status).toBe(400);
    expect(message(f).length).toBeLessThan(300);
  });
});

describe('REST errors in the API envelope (item 15)', () => {
  it('malformed JSON, text/plain, no content type and a wrong method', async () => {
    const bad = await bed.rest('POST', '/configurations', undefined, { raw: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'request body is not valid JSON' } } });
    const text = await bed.rest('POST', '/configurations', undefined, { raw: 'name: x', headers: { 'content-type': 'text/plain' } });
    expect(text).toMatchObject({ status: 415, json: { error: { code: 415, status: 'INVALID_ARGUMENT', message: 'content-type must be application/json, got "text/plain"' } } });
    const none = await bed.rest('POST', '/configurations', undefined, { raw: new TextEncoder().encode('{"name":"x"}') });
    expect(none).toMatchObject({ status: 415, json: { error: { code: 415 } } });
    const wrong = await bed.rest('PATCH', '/configurations/x', {});
    expect(wrong).toMatchObject({ status: 405, json: { error: { code: 405, status: 'UNIMPLEMENTED' } } });
    expect(wrong.headers.get('allow')).toBe('GET, PUT, DELETE');
    for (const r of [bad, text, none, wrong]) expect((r.json['error'] as { requestId: string }).requestId).toBe(r.headers.get('x-request-id'));
  });
});

describe('deeply nested JSON bodies (found by the fuzz soak)', () => {
  it.each([
    ['an array', (d: number) => `{"assignment": ${'['.repeat(d)}${']'.repeat(d)}}`],
    ['objects', (d: number) => `{"assignment": ${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`],
    ['objects under a map field', (d: number) => `{"name": "deep", "files": ${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`],
  ])('%s nested 20,000 deep is a 400 in the envelope, and the API answers the next call', async (kind, body) => {
    const path = kind.includes('map') ? '/configurations' : '/assignments';
    const deep = await bed.rest('POST', path, undefined, { raw: body(20_000), headers: { 'content-type': 'application/json' } });
    expect(deep).toMatchObject({ status: 400, json: { error: { code: 400, status: 'INVALID_ARGUMENT', message: `request body nests deeper than ${MAX_REST_JSON_DEPTH} levels` } } });
    expect((await bed.rest('GET', '/assignments')).status).toBe(200);
  });

  it('a body at the depth limit is read as usual', async () => {
    const nested = `{"assignment": {"name": "deep-ok", "configurationName": "none", "selector": "x=y"}, "pad": ${'['.repeat(MAX_REST_JSON_DEPTH - 1)}${']'.repeat(MAX_REST_JSON_DEPTH - 1)}}`;
    const r = await bed.rest('POST', '/assignments', undefined, { raw: nested, headers: { 'content-type': 'application/json' } });
    expect(message(r)).not.toMatch(/nests deeper/);
  });
});

describe('configuration file names (item 16)', () => {
  it.each(['../../etc/passwd', 'conf/c.yaml', '..'])('%j is refused over REST and gRPC', async (name) => {
    const r = await bed.rest('POST', '/configurations', { name: 'fn', files: files(name) });
    expect({ status: r.status, message: message(r) }).toEqual({ status: 400, message: expect.stringMatching(/file name/) });
    await expect(bed.rpc('CreateConfiguration', { name: 'fn', files: files(name) })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await bed.rest('GET', '/configurations/fn')).status).toBe(404);
  });

  it('the empty name is refused beside other files and taken as the single file', async () => {
    const two = await bed.rest('POST', '/configurations', { name: 'fn-two', files: { ...files(''), ...files('b.yaml') } });
    expect({ status: two.status, message: message(two) }).toEqual({ status: 400, message: expect.stringMatching(/empty file name is allowed only when it is the only file/) });
    const one = await bed.rest('POST', '/configurations', { name: 'fn-one', files: { '': { body: STATIC, contentType: '' } } });
    expect(one.status).toBe(200);
  });
});

describe('request ids (item 12)', () => {
  it('every response carries one: the caller\'s when sane, a new one otherwise (REST header, gRPC response headers)', async () => {
    const mine = await bed.rest('GET', '/configurations', undefined, { headers: { 'x-request-id': 'caller-id-1' } });
    expect({ status: mine.status, id: mine.headers.get('x-request-id') }).toEqual({ status: 200, id: 'caller-id-1' });
    const insane = await bed.rest('GET', '/configurations', undefined, { headers: { 'x-request-id': 'has spaces and {json}' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${bed.tenants[0].token}`);
    md.set('x-request-id', 'caller-id-2');
    const headers = await new Promise<grpc.Metadata>((resolve, reject) => {
      const call = bed.grpcClient['ListConfigurations']({}, md, { deadline: new Date(Date.now() + 5_000) }, (err) => (err ? reject(err) : undefined));
      call.on('metadata', resolve);
    });
    expect(headers.get('x-request-id')).toEqual(['caller-id-2']);
  });
});
