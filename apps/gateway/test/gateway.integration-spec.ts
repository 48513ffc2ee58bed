/**
 * The gateway process as deployed: configuration from the environment, the
 * edge wired to the real Kafka and Redis, the admin port, and the drain.
 */
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServerFrame, newInstanceUidV7 } from '@opamp/protocol';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import WebSocket from 'ws';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { type RunningGateway, startGateway } from '../src/gateway';

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

    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const drained = gateway.shutdown(200);
    await waitFor(() => gateway.edge.ready, (r) => !r, { description: 'readiness drops' });
    expect(await closed).toBe(1001);
    await drained;
    expect(logs.some((l) => l.includes('gateway listening'))).toBe(true);
  });

  it('refuses to start without agent tokens', async () => {
    await expect(startGateway(loadGatewayConfig({ OPAMP_AGENT_TOKENS: '' }), () => undefined)).rejects.toThrow(/no agent tokens/);
  });
});
