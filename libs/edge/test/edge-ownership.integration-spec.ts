/**
 * Two gateways sharing the real Redis: the newest connection owns an agent,
 * the old one is closed and fenced; and what the edge does while the real
 * Kafka broker cannot take messages (the broker process is paused).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionLeaseRepository } from '@opamp/bus-redis';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServerFrame, encodeServerToAgent, newInstanceUidV7, opamp } from '@opamp/protocol';
import { testInfra, waitFor } from '@opamp/testing';
import WebSocket from 'ws';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const reply = (frame: Buffer) => decodeServerToAgent(decodeWsMessage(frame));
const frame = (uid: Buffer, seq: number) => encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities: 0x3 });

describe('ownership across two gateways (real Kafka and Redis)', () => {
  const a = new EdgeHarness();
  const b = new EdgeHarness();

  beforeAll(() => Promise.all([a.start(), b.start()]));
  afterAll(() => Promise.all([a.stop(), b.stop()]));

  it('gives the agent to its newest connection, closes the old one and fences pushes to it', async () => {
    const uid = newInstanceUidV7();
    const onA = await a.connect();
    onA.send(frame(uid, 0));
    await onA.nextMessages(1);
    const [connectedA] = await a.waitForRecords(uid, 1);

    const onB = await b.connect();
    onB.send(frame(uid, 1));
    await onB.nextMessages(1);
    const [connectedB] = await b.waitForRecords(uid, 1);
    expect(connectedB.envelope.epoch).toBeGreaterThan(connectedA.envelope.epoch);

    // The old connection is closed with a close frame, and its agent reported as taken over.
    expect(await onA.closed()).toBe(1000);
    const recordsA = await a.waitForRecords(uid, 3);
    expect(recordsA[2].envelope.disconnected?.reason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_TAKEOVER);

    // The lease names B, and A's close did not delete it.
    const lease = await new ConnectionLeaseRepository(a.redis).get(TENANT, uid.toString('hex'));
    expect(lease).toEqual({ gatewayId: b.gatewayId, connectionId: connectedB.envelope.connectionId, epoch: connectedB.envelope.epoch });

    // A push fenced to the old owner goes nowhere; one to the new owner arrives.
    const push = (gw: string, env: fleet.v1.AgentInbound, hash: number) =>
      a.redis.publish(
        RedisChannels.gatewayPush(gw),
        GatewayPushCodec.encode({
          tenantId: TENANT,
          instanceUid: uid,
          connectionId: env.connectionId,
          epoch: env.epoch,
          serverToAgent: encodeServerToAgent({ instanceUid: uid, remoteConfig: { configHash: Buffer.from([hash]) } }),
        }),
      );
    expect(await push(a.gatewayId, connectedA.envelope, 1)).toBe(1);
    expect(await push(b.gatewayId, connectedB.envelope, 2)).toBe(1);
    const [, pushed] = await onB.nextMessages(2);
    expect(Buffer.from(reply(pushed).remoteConfig!.configHash!)).toEqual(Buffer.from([2]));
    expect(onA.messages).toHaveLength(1);
    onB.ws.close();
  });

  it('releases the lease on a normal close only while it is still its own', async () => {
    const uid = newInstanceUidV7();
    const socket = await a.connect();
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    const leases = new ConnectionLeaseRepository(a.redis);
    await waitFor(() => leases.get(TENANT, uid.toString('hex')), (l) => l?.gatewayId === a.gatewayId, { description: 'lease taken' });
    socket.ws.close();
    await waitFor(() => leases.get(TENANT, uid.toString('hex')), (l) => l === null, { description: 'lease released' });
  });
});

/** The broker of testInfra(): from infra.sh's pid file, else the kafka.Kafka process whose listener has its port. */
function kafkaBrokerPid(): number {
  const pidFile = join(__dirname, '..', '..', '..', '.infra', 'kafka', 'kafka.pid');
  if (existsSync(pidFile)) return Number(readFileSync(pidFile, 'utf8').trim());
  const port = testInfra().kafkaBrokers[0].split(':')[1];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!cmdline.includes('kafka.Kafka')) continue;
    const props = cmdline[cmdline.length - 2] ?? '';
    if (existsSync(props) && readFileSync(props, 'utf8').includes(`PLAINTEXT://127.0.0.1:${port}`)) return Number(entry);
  }
  throw new Error(`no Kafka broker process found for port ${port}`);
}

describe('while Kafka cannot take messages (broker paused)', () => {
  const h = new EdgeHarness();
  const kafkaPid = kafkaBrokerPid();
  const signal = (sig: 'STOP' | 'CONT') => execFileSync('kill', [`-${sig}`, String(kafkaPid)]);

  beforeAll(() => h.start({ maxPendingInbound: 3, retryAfterRangeS: [31, 31] }));
  afterAll(async () => {
    signal('CONT');
    await h.stop();
  });

  it('stops admitting, answers UNAVAILABLE instead of dropping, and recovers without losing what it accepted', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    await h.waitForRecords(uid, 2);

    signal('STOP');
    try {
      for (let seq = 1; seq <= 6; seq++) socket.send(frame(uid, seq));
      const replies = (await socket.nextMessages(7)).slice(1).map(reply);
      // What fits in the backlog is accepted; the rest is refused with a retry delay.
      const accepted = replies.filter((r) => !r.errorResponse).length;
      const refused = replies.filter(
        (r) => r.errorResponse?.type === opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable,
      );
      expect(accepted).toBeGreaterThanOrEqual(1);
      expect(accepted).toBeLessThanOrEqual(3);
      expect(refused.length).toBe(6 - accepted);
      expect(refused[0].errorResponse?.retryInfo?.retryAfterNanoseconds).toBe(31e9);
      expect(h.edge.ready).toBe(false);

      // New connections and HTTP requests are refused with 503 + Retry-After.
      const upgrade = await new Promise<number>((resolve) => {
        const ws = new WebSocket(h.wsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => undefined);
      });
      expect(upgrade).toBe(503);
      const post = await fetch(h.httpUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf' },
        body: Buffer.from([0x0a, 0x10, ...newInstanceUidV7()]),
      });
      expect(post.status).toBe(503);
      expect(post.headers.get('retry-after')).toBe('31');

      signal('CONT');
      // Everything it accepted arrives, in order; readiness comes back.
      const records = await waitFor(
        () => h.recordsFor(uid).filter((r) => r.envelope.event === 'agentToServer'),
        (r) => r.length === 1 + accepted,
        { timeoutMs: 45_000, description: 'accepted messages on the stream' },
      );
      const seqs = records.map((r) => opamp.proto.v1.AgentToServer.decode(r.envelope.agentToServer!).sequenceNum);
      expect(seqs).toEqual(Array.from({ length: 1 + accepted }, (_, i) => i));
      await waitFor(() => h.edge.ready, (r) => r, { timeoutMs: 30_000, description: 'ready again' });
    } finally {
      signal('CONT');
      socket.ws.close();
    }
  });
});
