/**
 * Two gateways sharing the real Redis: the newest connection with the agent's
 * own credential owns the agent, the old one is closed and pushes fenced to it
 * go nowhere; under a shared enrollment token a second live connection is
 * refused instead (no takeover); and what the edge
 * does while Kafka cannot take messages (the edge's own link to the broker is
 * stalled; the shared broker is never touched).
 */
import { ConnectionLeaseRepository } from '@opamp/bus-redis';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServerFrame, encodeServerToAgent, newInstanceUidV7, opamp } from '@opamp/protocol';
import { StallableLink, waitFor } from '@opamp/testing';
import { agentTokenDigest } from '../src';
import WebSocket from 'ws';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const reply = (frame: Buffer) => decodeServerToAgent(decodeWsMessage(frame));
const frame = (uid: Buffer, seq: number) => encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities: 0x3 });

async function pushCount(h: EdgeHarness, result: string): Promise<number> {
  return (await h.edge.metrics.pushes.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('ownership across two gateways (real Kafka and Redis)', () => {
  const a = new EdgeHarness();
  const b = new EdgeHarness();

  beforeAll(() => Promise.all([a.start(), b.start()]));
  afterAll(() => Promise.all([a.stop(), b.stop()]));

  it('gives the agent to its newest connection with its own credential, closes the old one and fences pushes to it', async () => {
    const uid = newInstanceUidV7();
    const own = `own-${uid.toString('hex')}`;
    for (const h of [a, b]) {
      h.authority.putEntry({ digest: agentTokenDigest(own), tenantId: TENANT, tokenId: 'cred-1', kind: 'agent', uidHex: uid.toString('hex'), active: true });
    }
    const onA = await a.connect({ Authorization: `Bearer ${own}` });
    onA.send(frame(uid, 0));
    await onA.nextMessages(1);
    const [connectedA] = await a.waitForRecords(uid, 1);

    const onB = await b.connect({ Authorization: `Bearer ${own}` });
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

    // A push fenced to the old connection goes nowhere, even sent to the gateway that now
    // holds the agent on an open socket; one fenced to the new connection arrives.
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
    const fencedBefore = await pushCount(b, 'fenced');
    expect(await push(b.gatewayId, connectedA.envelope, 1)).toBe(1);
    expect(await push(b.gatewayId, connectedB.envelope, 2)).toBe(1);
    // One publisher, one channel: the stale push was handled before the good one, and had it
    // been written to the socket it would have arrived first.
    const [, pushed] = await onB.nextMessages(2);
    expect(Buffer.from(reply(pushed).remoteConfig!.configHash!)).toEqual(Buffer.from([2]));
    expect(await pushCount(b, 'fenced')).toBe(fencedBefore + 1);
    onB.ws.close();
  });

  it('refuses a second live connection for an agent under the enrollment token, leaving the first one alone', async () => {
    const uid = newInstanceUidV7();
    const onA = await a.connect();
    onA.send(frame(uid, 0));
    await onA.nextMessages(1);
    const [connectedA] = await a.waitForRecords(uid, 1);
    const leases = new ConnectionLeaseRepository(a.redis);
    await waitFor(() => leases.get(TENANT, uid.toString('hex')), (l) => l?.gatewayId === a.gatewayId, { description: 'lease taken' });

    const onB = await b.connect();
    onB.send(frame(uid, 1));
    // The acknowledgement leaves at once; the refusal follows once the lease says who holds the agent.
    const [, refusal] = await onB.nextMessages(2);
    const error = reply(refusal).errorResponse;
    expect(error?.type).toBe(opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable);
    expect(error?.errorMessage).toMatch(/connected on another connection/);
    expect(Number(error?.retryInfo?.retryAfterNanoseconds)).toBeGreaterThan(0);
    expect(await onB.closed()).toBe(1008);
    const [refused] = await b.waitForRecords(uid, 1);
    expect(refused.envelope.refused?.reason).toBe(fleet.v1.RefusalReason.REFUSAL_REASON_DUPLICATE_CONNECTION);
    expect(b.recordsFor(uid).some((r) => r.envelope.event === 'agentToServer')).toBe(false);

    // The first connection still owns the agent and is still served.
    expect(await leases.get(TENANT, uid.toString('hex'))).toEqual({ gatewayId: a.gatewayId, connectionId: connectedA.envelope.connectionId, epoch: connectedA.envelope.epoch });
    onA.send(frame(uid, 1));
    await onA.nextMessages(2);
    expect(onA.closeCode).toBeNull();
    onA.ws.close();
  });

  it.each([
    ['a gateway that is gone (its presence expired)', () => 'gw-that-died'],
    ['this gateway, for a connection it no longer has', () => a.gatewayId],
  ])('lets the enrollment token take over a lease left by %s', async (_name, holder) => {
    const uid = newInstanceUidV7();
    const leases = new ConnectionLeaseRepository(a.redis);
    const stale = await leases.acquire(TENANT, uid.toString('hex'), holder(), 'conn-long-gone');
    const socket = await a.connect();
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    const lease = await waitFor(() => leases.get(TENANT, uid.toString('hex')), (l) => l?.gatewayId === a.gatewayId && l.connectionId !== 'conn-long-gone', {
      description: 'the lease taken over',
    });
    expect(lease!.epoch).toBeGreaterThan(stale.lease.epoch);
    expect(a.recordsFor(uid).some((r) => r.envelope.refused)).toBe(false);
    expect(socket.closeCode).toBeNull();
    socket.ws.close();
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

describe('while Kafka cannot take messages (the edge\'s link to the broker stalled)', () => {
  const h = new EdgeHarness();
  const link = new StallableLink();

  beforeAll(() => h.start({ maxPendingInbound: 3, retryAfterRangeS: [31, 31] }, { producerLink: link }));
  afterAll(async () => {
    link.release();
    await h.stop();
  });

  it('stops admitting, answers UNAVAILABLE instead of dropping, and recovers without losing what it accepted', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    await h.waitForRecords(uid, 2);

    link.stall();
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

      link.release();
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
      link.release();
      socket.ws.close();
    }
  });
});

describe("while Redis does not answer the edge's lease commands in time (its link stalled)", () => {
  const h = new EdgeHarness();
  const link = new StallableLink();

  beforeAll(() => h.start({ leaseAcquireRetryDelaysMs: [200, 200, 2_000] }, { leaseLink: link, leaseCommandTimeoutMs: 300 }));
  afterAll(async () => {
    await link.close();
    await h.stop();
  });

  const retries = () => h.edge.metrics.leaseRetries.get().then((m) => m.values[0]?.value ?? 0);

  it('keeps the connection open, takes the lease once Redis answers again, and serves the agent', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    link.stall();
    socket.send(frame(uid, 0));
    // The first try timed out and a second one did too: the agent is still connected.
    await waitFor(retries, (n) => n >= 2, { timeoutMs: 10_000, description: 'two lease retries' });
    expect(socket.closeCode).toBeNull();
    link.release();
    const [first] = await socket.nextMessages(1);
    expect(reply(first).instanceUid).toEqual(uid);
    await h.waitForRecords(uid, 2);
    expect(socket.closeCode).toBeNull();
    socket.ws.close();
  });

  it('closes with 1013 (try again later) once the last try failed too', async () => {
    const socket = await h.connect();
    link.stall();
    try {
      socket.send(frame(newInstanceUidV7(), 0));
      expect(await socket.closed()).toBe(1013);
    } finally {
      link.release();
    }
  });
});
