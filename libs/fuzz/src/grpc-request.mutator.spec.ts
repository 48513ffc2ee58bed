import { createHash } from 'node:crypto';
import * as protobuf from 'protobufjs';
import { seededRng } from './fuzz-draw';
import { GRPC_BODY_MUTATIONS, hostileMessage, mutateGrpcCall } from './grpc-request.mutator';

const root = protobuf.parse(`
syntax = "proto3";
package t.v1;
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
message Inner { string name = 1; repeated int64 n = 2; }
message Req { string instance_uid = 1; int32 page_size = 2; Kind kind = 3; map<string, string> labels = 4; repeated Inner inner = 5; bytes data = 6; bool flag = 7; }
`).root;
const Req = root.lookupType('t.v1.Req');
const METHODS = [
  { path: '/t.v1.Svc/Get', requestType: Req },
  { path: '/t.v1.Svc/Watch', requestType: Req, serverStream: true },
];

describe('mutateGrpcCall', () => {
  it('draws every body mutation, and hostile bodies are requests of the type with hostile values', () => {
    const rng = seededRng(21);
    const calls = Array.from({ length: 600 }, () => mutateGrpcCall(rng, METHODS, 'tok'));
    for (const m of GRPC_BODY_MUTATIONS) expect(calls.some((c) => c.kind.includes(`/${m}`))).toBe(true);
    const hostile = calls.filter((c) => c.kind.endsWith('/hostile-fields'));
    expect(hostile.length).toBeGreaterThan(20);
    // They decode as the request type (the server's decoder gets past the wire format to the handler).
    const decoded = hostile.map((c) => Req.decode(c.body));
    expect(decoded.some((d) => (d as unknown as { instanceUid?: string }).instanceUid !== undefined)).toBe(true);
    const oversize = calls.find((c) => c.kind.endsWith('/oversize'))!;
    expect(oversize.body.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(calls.find((c) => c.kind.endsWith('/empty'))!.body.length).toBe(0);
    expect(calls.some((c) => c.serverStream)).toBe(true);
  });

  it('withholds or forges the token on some calls and names an unknown method on a few', () => {
    const rng = seededRng(22);
    const calls = Array.from({ length: 1000 }, () => mutateGrpcCall(rng, METHODS, 'tok'));
    expect(calls.filter((c) => c.metadata['authorization'] === 'Bearer tok').length).toBeGreaterThan(800);
    expect(calls.some((c) => c.metadata['authorization'] === undefined && c.kind.includes('/no-auth'))).toBe(true);
    expect(calls.some((c) => c.kind.includes('/bad-auth') && c.metadata['authorization'] !== 'Bearer tok')).toBe(true);
    const unknown = calls.filter((c) => c.kind.endsWith('/unknown-method'));
    expect(unknown.length).toBeGreaterThan(0);
    for (const c of unknown) expect(METHODS.map((m) => m.path)).not.toContain(c.path);
  });

  it('replays from the seed', () => {
    const a = seededRng(23);
    const b = seededRng(23);
    // Bodies compared by digest: a deep comparison of megabytes is slow.
    const digest = (c: ReturnType<typeof mutateGrpcCall>) => ({ ...c, body: createHash('sha256').update(c.body).digest('hex') });
    for (let i = 0; i < 50; i++) expect(digest(mutateGrpcCall(a, METHODS, 't'))).toEqual(digest(mutateGrpcCall(b, METHODS, 't')));
  });
});

describe('hostileMessage', () => {
  it('fills fields of every kind: out-of-range enums, maps, nested messages, huge text', () => {
    const rng = seededRng(24);
    const msgs = Array.from({ length: 300 }, () => hostileMessage(rng, Req));
    expect(msgs.some((m) => m['kind'] === 999 || m['kind'] === -7)).toBe(true);
    expect(msgs.some((m) => m['labels'] && Object.keys(m['labels'] as object).length > 0)).toBe(true);
    expect(msgs.some((m) => Array.isArray(m['inner']) && (m['inner'] as unknown[]).length > 0)).toBe(true);
    expect(msgs.some((m) => typeof m['instanceUid'] === 'string' && (m['instanceUid'] as string).length > 64 * 1024)).toBe(true);
  });
});
