/**
 * The platform API's error reporting on both transports, served for real
 * (Nest, express, grpc-js): in front of a database that is down (503 /
 * UNAVAILABLE: retry), and of a store that fails with a bug (the one situation
 * a caller can neither cause nor wait out: 500 / INTERNAL, logged).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { AgentPushDispatcher, DesiredStateRepository, FleetApiService } from '@opamp/desired-state';
import { jsonLog, type LogLevel } from '@opamp/process-runtime';
import { createPgPool, PgSqlDatabase, type SqlDatabase } from '@opamp/store';
import { requestIdFrom } from './api-errors';
import { createPlatformApiApp, PlatformApiModule } from './platform-api.app';
import { API_LOG } from './platform-api.tokens';
import { findFleetApiProto, LOADER_OPTIONS } from './proto-json';
import { bodyParserProblem, unsupportedBody } from './rest-body';
import { freePort } from '@opamp/testing';

describe('request ids', () => {
  it('takes a sane caller id and replaces anything else', () => {
    expect(requestIdFrom('abc-123.x:y_z')).toBe('abc-123.x:y_z');
    expect(requestIdFrom(['first', 'second'])).toBe('first');
    for (const bad of ['', 'a b', 'x'.repeat(129), 'line\nbreak', '{"json":1}', undefined, 5]) expect(requestIdFrom(bad)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('REST bodies', () => {
  it('only a body needs a JSON content type', () => {
    expect(unsupportedBody({})).toBeNull();
    expect(unsupportedBody({ 'content-length': '0', 'content-type': 'text/plain' })).toBeNull();
    expect(unsupportedBody({ 'content-length': '2', 'content-type': 'application/json; charset=utf-8' })).toBeNull();
    expect(unsupportedBody({ 'content-length': '2', 'content-type': 'text/plain' })).toBe('content-type must be application/json, got "text/plain"');
    expect(unsupportedBody({ 'transfer-encoding': 'chunked' })).toMatch(/no content-type/);
  });

  it('a parser error is the caller\'s, with its status', () => {
    expect(bodyParserProblem({ type: 'entity.parse.failed', body: '{"a":' })).toEqual({ http: 400, message: 'request body is not valid JSON' });
    expect(bodyParserProblem({ type: 'entity.parse.failed', body: ' 5' })).toEqual({ http: 400, message: 'request body must be a JSON object' });
    expect(bodyParserProblem({ type: 'entity.too.large', status: 413 })).toMatchObject({ http: 413 });
    expect(bodyParserProblem({ type: 'entity.too.deep', status: 400 })).toEqual({ http: 400, message: 'request body nests deeper than 64 levels' });
    expect(bodyParserProblem({ type: 'encoding.unsupported', status: 415 })).toMatchObject({ http: 415 });
    expect(bodyParserProblem(Object.assign(new URIError('URI malformed'), { status: 400 }))).toEqual({ http: 400, message: 'the request path is not valid percent-encoded UTF-8' });
    expect(bodyParserProblem(Object.assign(new Error('not a parser error'), { status: 500 }))).toBeNull();
  });
});

type UnaryClient = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall>;
type Logged = Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }>;

/** The API served for real (Nest, express, grpc-js) over `db`, with its log kept. */
function servedApi(db: SqlDatabase) {
  const served = {
    logged: [] as Logged,
    api: new FleetApiService(new DesiredStateRepository(db), new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore()), null),
    app: null as NestExpressApplication | null,
    base: '',
    client: null as UnaryClient | null,
    async start() {
      const [httpPort, grpcPort] = [await freePort(), await freePort()];
      served.app = await createPlatformApiApp(
        PlatformApiModule.forApi(served.api, undefined, (level, message, fields) => served.logged.push({ level, message, fields })),
        { bindHost: '127.0.0.1', httpPort, grpcPort, logger: false, consoleDir: false },
      );
      served.base = `http://127.0.0.1:${httpPort}/api/v1`;
      const def = protoLoader.loadSync(findFleetApiProto().protoPath, LOADER_OPTIONS);
      const pkg = grpc.loadPackageDefinition(def) as unknown as { fleet: { v1: { FleetService: grpc.ServiceClientConstructor } } };
      served.client = new pkg.fleet.v1.FleetService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as UnaryClient;
    },
    async stop() {
      served.client?.close();
      await served.app?.close();
    },
    grpcError(rpc: string): Promise<grpc.ServiceError> {
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer some-admin-token');
      return new Promise<grpc.ServiceError>((resolve, reject) => {
        served.client![rpc]({}, md, (e) => (e ? resolve(e) : reject(new Error('the call succeeded'))));
      });
    },
  };
  return served;
}

describe('the platform API in front of a database that is down', () => {
  const pool = createPgPool({ connectionString: 'postgres://nobody:secret@127.0.0.1:1/none', applicationName: 'api-errors-spec', max: 1, connectionTimeoutMs: 100 });
  const db = new PgSqlDatabase(pool, { waitBudgetMs: 300, retryMinMs: 10, retryMaxMs: 50 });
  const served = servedApi(db);

  beforeAll(() => served.start());
  afterAll(async () => {
    await served.stop();
    await pool.end();
  });

  it('REST: 503 UNAVAILABLE once the wait for a connection is over, counted, not logged as an internal error (no secrets)', async () => {
    const res = await fetch(`${served.base}/configurations`, { headers: { authorization: 'Bearer some-admin-token', 'x-request-id': 'req-41' } });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 503, status: 'UNAVAILABLE', message: 'the database gave no connection within 300 ms; retry shortly', requestId: 'req-41' } });
    expect(served.logged).toEqual([]);
    expect(db.waits.unavailable.wait_budget).toBeGreaterThanOrEqual(1);
    expect(db.waits.connectRetries).toBeGreaterThanOrEqual(1);
    expect(served.api.metrics.errors['UNAVAILABLE']).toBeGreaterThanOrEqual(1);
  });

  it('gRPC: UNAVAILABLE with the same message', async () => {
    const err = await served.grpcError('ListConfigurations');
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('the database gave no connection within 300 ms; retry shortly');
    expect(served.logged).toEqual([]);
  });
});

describe('the platform API in front of a store that fails with a bug', () => {
  // What no caller can cause: the only kind of error answered 500 / INTERNAL.
  const broken: SqlDatabase = {
    query: async () => {
      throw new TypeError('a bug in a query');
    },
    transaction: async () => {
      throw new TypeError('a bug in a transaction');
    },
  };
  const served = servedApi(broken);
  const { logged } = served;
  let base: string;
  let api: FleetApiService;

  beforeAll(async () => {
    await served.start();
    base = served.base;
    api = served.api;
  });
  afterAll(() => served.stop());

  it('logs to the process log (stderr JSON lines) unless the host gives another, whatever Nest\'s own logger is set to', () => {
    const providers = PlatformApiModule.forApi(served.api).providers ?? [];
    expect(providers).toContainEqual({ provide: API_LOG, useValue: jsonLog });
  });

  it('REST: a 500 carries its request id in the header and the envelope, and is logged with it (no secrets)', async () => {
    const res = await fetch(`${base}/configurations`, { headers: { authorization: 'Bearer some-admin-token', 'x-request-id': 'req-42' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(await res.json()).toEqual({ error: { code: 500, status: 'INTERNAL', message: 'internal error (request id req-42)', requestId: 'req-42' } });
    const line = logged.find((l) => l.fields?.['requestId'] === 'req-42');
    expect(line).toMatchObject({ level: 'error', message: 'platform API internal error', fields: { transport: 'rest', rpc: 'ListConfigurations', requestId: 'req-42' } });
    expect(String(line?.fields?.['error'])).toMatch(/TypeError: a bug in a query/);
    expect(JSON.stringify(line)).not.toMatch(/some-admin-token|secret/);
  });

  it('gRPC: INTERNAL names its request id, sent in the trailers, and is logged with it', async () => {
    const err = await served.grpcError('ListConfigurations');
    expect(err.code).toBe(grpc.status.INTERNAL);
    const id = String(err.metadata.get('x-request-id')[0]);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.details).toBe(`internal error (request id ${id})`);
    expect(logged.find((l) => l.fields?.['requestId'] === id)).toMatchObject({ fields: { transport: 'grpc', rpc: 'ListConfigurations' } });
  });

  it('malformed JSON, non-object bodies, other content types and wrong methods get the API envelope and the right status, counted', async () => {
    const before = api.metrics.invalidArguments;
    const post = (body: string, headers: Record<string, string>) => fetch(`${base}/configurations`, { method: 'POST', body, headers });
    const cases: Array<[Promise<Response>, number, string, RegExp]> = [
      [post('{"name": "x",', { 'content-type': 'application/json' }), 400, 'INVALID_ARGUMENT', /^request body is not valid JSON$/],
      [post('5', { 'content-type': 'application/json' }), 400, 'INVALID_ARGUMENT', /^request body must be a JSON object$/],
      [post('"text"', { 'content-type': 'application/json' }), 400, 'INVALID_ARGUMENT', /^request body must be a JSON object$/],
      [post('name: x', { 'content-type': 'text/plain' }), 415, 'INVALID_ARGUMENT', /^content-type must be application\/json, got "text\/plain"$/],
      [post(`{"name": "${'x'.repeat(3 * 1024 * 1024)}"}`, { 'content-type': 'application/json' }), 413, 'INVALID_ARGUMENT', /^request body is larger than 2097152 bytes$/],
      [fetch(`${base}/configurations/%E0%A4%A`), 400, 'INVALID_ARGUMENT', /^the request path is not valid percent-encoded UTF-8$/],
      [fetch(`${base}/configurations/c1`, { method: 'PATCH', body: '{}', headers: { 'content-type': 'application/json' } }), 405, 'UNIMPLEMENTED', /PATCH is not allowed here; allowed: GET, PUT, DELETE/],
    ];
    for (const [pending, http, status, message] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error: { code: number; status: string; message: string; requestId: string } };
      expect({ http: res.status, ...body.error }).toEqual({ http, code: http, status, message: expect.stringMatching(message), requestId: res.headers.get('x-request-id') });
    }
    // No content type at all: fetch sends a string body as text/plain, so send bytes.
    const bare = await fetch(`${base}/configurations`, { method: 'POST', body: new TextEncoder().encode('{"name":"x"}') });
    expect(bare.status).toBe(415);
    expect(((await bare.json()) as { error: { message: string } }).error.message).toMatch(/content-type must be application\/json/);
    expect(api.metrics.invalidArguments - before).toBe(7);
  });
});
