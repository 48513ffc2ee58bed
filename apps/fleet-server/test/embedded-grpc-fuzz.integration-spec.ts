/**
 * gRPC fuzzing of the built embedded server's platform API (issue 13), from a
 * fixed seed: every unary FleetService rpc with hostile, cut, flipped, random,
 * empty and oversized bodies, withheld or forged tokens and unknown methods.
 * Every call is answered with a status and a message, none with INTERNAL or
 * UNKNOWN (bad input is the caller's, never a server fault), the calls the
 * API handled are counted by code, and the server serves a good call after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { tmpdir } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { type GrpcMethodTemplate, mutateGrpcCall, seededRng } from '@opamp/fuzz';
import { findFleetApiProto } from '@opamp/platform-api';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess } from '@opamp/testing';

const CALLS = 600;
const CONCURRENCY = 4;

/** The service's unary rpcs with their request types, from the API's own proto. */
function unaryMethods(): GrpcMethodTemplate[] {
  const { protoPath, includeDir } = findFleetApiProto();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(includeDir, target));
  root.loadSync(protoPath, { keepCase: false }).resolveAll();
  return root
    .lookupService('fleet.v1.FleetService')
    .methodsArray.filter((m) => !m.requestStream && !m.responseStream)
    .map((m) => ({ path: `/fleet.v1.FleetService/${m.name}`, requestType: m.resolvedRequestType as protobuf.Type }));
}

/** The sum of a counter's samples whose labels include `labels`. */
function counted(page: string, name: string, labels: string): number {
  return page
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('embedded server: gRPC fuzzing of the platform API', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-grpc-fuzz-'));
  // This helper's ports (25000-25999): agents, admin (metrics), REST, gRPC.
  const basePort = 25_000 + 4 * Math.floor(Math.random() * 240);
  let server: EmbeddedServerProcess;
  let client: grpc.Client;

  afterAll(async () => {
    client?.close();
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`answers ${CALLS} mutated calls with a status and a message each, never INTERNAL or UNKNOWN, and counts them`, async () => {
    server = await startEmbeddedServerProcess({ dataDir, basePort });
    client = new grpc.Client(`127.0.0.1:${basePort + 3}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
    const raw = (b: Buffer) => b;
    const call = (path: string, body: Buffer, metadata: Record<string, string>) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        client.makeUnaryRequest(path, raw, raw, body, md, { deadline: Date.now() + 60_000 }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }));
      });
    const methods = unaryMethods();
    const rng = seededRng(1313);
    const calls = Array.from({ length: CALLS }, () => mutateGrpcCall(rng, methods, server.adminToken));
    const answers: Array<{ kind: string; code: string; details: string }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < calls.length) {
          const c = calls[next++];
          const a = await call(c.path, c.body, c.metadata);
          answers.push({ kind: c.kind, code: grpc.status[a.code] ?? String(a.code), details: a.details });
        }
      }),
    );

    const byCode: Record<string, number> = {};
    for (const a of answers) byCode[a.code] = (byCode[a.code] ?? 0) + 1;
    expect(answers.filter((a) => ['INTERNAL', 'UNKNOWN', 'DEADLINE_EXCEEDED'].includes(a.code))).toEqual([]);
    expect(answers.filter((a) => a.code !== 'OK' && a.details.trim() === '')).toEqual([]);
    // Bad input was refused as the caller's (the seed reaches every kind of refusal).
    expect(byCode).toMatchObject({ INVALID_ARGUMENT: expect.any(Number), UNAUTHENTICATED: expect.any(Number), UNIMPLEMENTED: expect.any(Number) });
    // Messages stay short, whatever the request carried (300,000-character strings among them).
    expect(Math.max(...answers.map((a) => a.details.length))).toBeLessThan(2_000);

    // What the API handled is counted by code: every INVALID_ARGUMENT the client saw, none INTERNAL.
    const page = await (await fetch(`http://127.0.0.1:${basePort + 1}/metrics`)).text();
    expect(counted(page, 'opamp_config_api_requests_total', 'code="INVALID_ARGUMENT"')).toBe(byCode['INVALID_ARGUMENT']);
    expect(counted(page, 'opamp_config_api_requests_total', 'code="INTERNAL"')).toBe(0);

    // Still serving.
    const good = await call('/fleet.v1.FleetService/ListConfigurations', Buffer.alloc(0), { authorization: `Bearer ${server.adminToken}` });
    expect(good.code).toBe(grpc.status.OK);
    expect(server.child.exitCode).toBeNull();
    expect(server.output.join('')).not.toMatch(/platform API internal error/);
    // The server's start and 600 calls on a loaded machine.
  }, 300_000);
});
