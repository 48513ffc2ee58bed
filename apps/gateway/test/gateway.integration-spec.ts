/**
 * The gateway process as deployed: configuration from the environment, the
 * edge wired to the real Kafka and Redis, the admin port, and the drain.
 */
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServer, encodeAgentToServerFrame, newInstanceUidV7 } from '@opamp/protocol';
import { AgentTokenDirectory, createRedisConnection, encodeTokenValue } from '@opamp/bus-redis';
import { AgentTokenKeys } from '@opamp/contracts';
import { agentTokenDigest } from '@opamp/edge';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import WebSocket from 'ws';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { type RunningGateway, startGateway } from '../src/gateway';

/** A gateway with no static tokens: every credential comes from the shared directory. */
function startDirectoryGateway(): Promise<RunningGateway> {
  const infra = testInfra();
  return startGateway(
    loadGatewayConfig({
      OPAMP_GATEWAY_ID: uniqueName('gw'),
      OPAMP_GATEWAY_HOST: '127.0.0.1',
      OPAMP_GATEWAY_PORT: '0',
      OPAMP_GATEWAY_ADMIN_PORT: '0',
      OPAMP_AGENT_TOKENS: '',
      OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      OPAMP_REDIS_URL: infra.redisUrl,
    }),
    () => undefined,
  );
}

describe('gateway process (real Kafka and Redis)', () => {
  let gateway: RunningGateway;
  const logs: string[] = [];
  const token = uniqueName('agent-token');

  beforeAll(async () => {
    const infra = testInfra();
    const config = loadGatewayConfig({
      OPAMP_GATEWAY_ID: uniqueName('gw'),
      OPAMP_GATEWAY_HOST: '127.0.0.1',
      OPAMP_GATEWAY_PORT: '0',
      OPAMP_GATEWAY_ADMIN_PORT: '0',
      OPAMP_AGENT_TOKENS: `acme=${token}`,
      OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      OPAMP_REDIS_URL: infra.redisUrl,
      OPAMP_DRAIN_WINDOW_MS: '200',
    });
    gateway = await startGateway(config, (level, msg) => logs.push(`${level} ${msg}`));
  });

  afterAll(() => gateway?.shutdown(0));

  it('serves agents, reports ready and metrics on the admin port, and drains', async () => {
    const admin = `http://127.0.0.1:${gateway.admin.port}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);

    const ws = new WebSocket(`ws://127.0.0.1:${gateway.edge.port}/v1/opamp`, { headers: { Authorization: `Bearer ${token}` } });
    const uid = newInstanceUidV7();
    const reply = await new Promise<Buffer>((resolve, reject) => {
      ws.once('open', () => ws.send(encodeAgentToServerFrame({ instanceUid: uid, capabilities: 1 })));
      ws.once('message', (data) => resolve(data as Buffer));
      ws.once('error', reject);
    });
    expect(Buffer.from(decodeServerToAgent(decodeWsMessage(reply)).instanceUid)).toEqual(uid);

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/opamp_gateway_connections\{[^}]*transport="ws"[^}]*\} 1/);
    expect(metrics).toMatch(/opamp_gateway_messages_in_total\{[^}]*kind="heartbeat"/);
    expect(metrics).toMatch(/nodejs_eventloop_lag_seconds/);
    expect(metrics).toMatch(/opamp_gateway_agents_connected\{[^}]*tenant="acme"[^}]*\} 1\n/);
    expect(metrics).toMatch(/opamp_gateway_connection_cap\{[^}]*\} 19000\n/);

    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const drained = gateway.shutdown(200);
    await waitFor(() => gateway.edge.ready, (r) => !r, { description: 'readiness drops' });
    expect(await closed).toBe(1001);
    await drained;
    expect(logs.some((l) => l.includes('gateway listening'))).toBe(true);
  });

  it('accepts agent tokens from the shared directory, and drops a revoked one with its connections', async () => {
    const infra = testInfra();
    const redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'gateway-test' });
    const other = await startDirectoryGateway();
    try {
      const secret = uniqueName('dir-token');
      const entry = { digest: agentTokenDigest(secret), tenantId: 'globex', tokenId: uniqueName('tok') };
      const url = `ws://127.0.0.1:${other.edge.port}/v1/opamp`;
      const open = () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${secret}` } });
          ws.once('open', () => resolve(ws));
          ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        });
      await expect(open()).rejects.toThrow('HTTP 401');
      const directory = new AgentTokenDirectory(redis);
      await directory.put(entry);
      const ws = await waitFor(() => open(), () => true, { description: 'token accepted' });
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await directory.remove(entry.digest);
      expect(await closed).toBe(1008);
      await waitFor(
        () => open().then(() => 'open', (e: Error) => e.message),
        (r) => r === 'HTTP 401',
        { description: 'revoked token refused' },
      );
    } finally {
      await other.shutdown(0);
      await redis.quit();
    }
  });

  it('reads the shared directory before refusing a credential it has not heard of: accepted over WebSocket and HTTP, an unknown one refused and counted', async () => {
    // A rotation's agents come back with their new credential before a busy gateway has read its
    // announcement: here the entry is in the directory's hash and its announcement never comes.
    const infra = testInfra();
    const redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'gateway-test-lookup' });
    const other = await startDirectoryGateway();
    const written: string[] = [];
    try {
      const secret = uniqueName('unannounced');
      const uid = newInstanceUidV7();
      const entry = { digest: agentTokenDigest(secret), tenantId: 'initech', tokenId: uniqueName('cred'), kind: 'agent' as const, uidHex: uid.toString('hex') };
      await redis.hset(AgentTokenKeys.directory(), entry.digest, encodeTokenValue(entry));
      written.push(entry.digest);
      const base = `127.0.0.1:${other.edge.port}/v1/opamp`;
      const connect = (bearer: string) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://${base}`, { headers: { Authorization: `Bearer ${bearer}` } });
          ws.once('open', () => resolve(ws));
          ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
          ws.once('error', reject);
        });
      const ws = await connect(secret);
      const reply = await new Promise<Buffer>((resolve, reject) => {
        ws.send(encodeAgentToServerFrame({ instanceUid: uid, capabilities: 1 }));
        ws.once('message', (data) => resolve(data as Buffer));
        ws.once('error', reject);
      });
      expect(Buffer.from(decodeServerToAgent(decodeWsMessage(reply)).instanceUid)).toEqual(uid);
      ws.close();

      // Plain HTTP, with a second credential the gateway has not heard of either.
      const httpSecret = uniqueName('unannounced-http');
      const httpEntry = { ...entry, digest: agentTokenDigest(httpSecret), tokenId: uniqueName('cred') };
      await redis.hset(AgentTokenKeys.directory(), httpEntry.digest, encodeTokenValue(httpEntry));
      written.push(httpEntry.digest);
      const post = (bearer: string) =>
        fetch(`http://${base}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/x-protobuf' },
          body: encodeAgentToServer({ instanceUid: uid, capabilities: 1 }),
        });
      const answered = await post(httpSecret);
      expect(answered.status).toBe(200);
      expect(Buffer.from(decodeServerToAgent(Buffer.from(await answered.arrayBuffer())).instanceUid)).toEqual(uid);

      const made = uniqueName('made-up');
      await expect(connect(made)).rejects.toThrow('HTTP 401');
      expect((await post(made)).status).toBe(401);
      const metrics = await (await fetch(`http://127.0.0.1:${other.admin.port}/metrics`)).text();
      expect(metrics).toMatch(/opamp_gateway_credential_lookups_total\{[^}]*result="found"[^}]*\} 2\n/);
      expect(metrics).toMatch(/opamp_gateway_credential_lookups_total\{[^}]*result="absent"[^}]*\} 2\n/);
    } finally {
      if (written.length > 0) await redis.hdel(AgentTokenKeys.directory(), ...written);
      await other.shutdown(0);
      await redis.quit();
    }
  });
});
