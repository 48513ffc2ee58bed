/**
 * A WebSocket push follows the agent's connection lease when the row it was
 * decided from lags behind it (a failover: the row still names the dead
 * gateway's connection while the agent already holds a lease on another
 * gateway). Real Redis: the lease repository the gateways use, their push
 * channels.
 */
import type Redis from 'ioredis';
import { ConnectionLeaseRepository, createRedisConnection, GatewayPushPublisher, GatewayPushSubscriber, PendingPushStore } from '@opamp/bus-redis';
import { GatewayPushCodec, type fleet } from '@opamp/contracts';
import { newInstanceUidV7 } from '@opamp/protocol';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { AgentPushDispatcher, TRANSPORT_WEBSOCKET } from '../src';

const infra = testInfra();
let redis: Redis;
const subscribers: Redis[] = [];

beforeAll(() => {
  redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'ds-lease-owner' });
});
afterAll(async () => {
  await Promise.all([redis, ...subscribers].map((r) => r.quit()));
});

/** What arrives on a gateway's push channel. */
async function listen(gatewayId: string): Promise<fleet.v1.GatewayPush[]> {
  const sub = createRedisConnection({ url: infra.redisUrl, connectionName: `ds-lease-owner-${gatewayId}` });
  subscribers.push(sub);
  const got: fleet.v1.GatewayPush[] = [];
  await new GatewayPushSubscriber(sub, gatewayId, (payload) => got.push(GatewayPushCodec.decode(payload))).start();
  return got;
}

describe('pushes follow the connection lease', () => {
  it('a push decided from a row naming a dead gateway goes to the gateway the lease names, with its connection and epoch', async () => {
    const tenant = uniqueName('tenant');
    const uid = newInstanceUidV7();
    const [dead, alive] = [uniqueName('gw-dead'), uniqueName('gw-alive')];
    const atDead = await listen(dead);
    const atAlive = await listen(alive);
    const leases = new ConnectionLeaseRepository(redis);
    // The row was written for the dead gateway's connection; the agent has since reconnected elsewhere.
    const stale = await leases.acquire(tenant, uid.toString('hex'), dead, 'conn-old');
    const current = await leases.acquire(tenant, uid.toString('hex'), alive, 'conn-new');
    const dispatcher = new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis), leases);
    const rowTarget = { connected: true, gatewayId: dead, connectionId: 'conn-old', epoch: stale.lease.epoch, transport: TRANSPORT_WEBSOCKET };

    await dispatcher.push(tenant, uid, rowTarget, 'command', { command: { type: 0 } });

    const [push] = await waitFor(() => atAlive, (g) => g.length === 1, { description: 'the push on the live gateway' });
    expect(push.connectionId).toBe('conn-new');
    expect(Number(push.epoch)).toBe(current.lease.epoch);
    expect(atDead).toHaveLength(0);
    expect(dispatcher.rerouted).toBe(1);
  });

  it('keeps the row target when the lease is not newer (no lease, or the same connection)', async () => {
    const tenant = uniqueName('tenant');
    const uid = newInstanceUidV7();
    const gw = uniqueName('gw');
    const at = await listen(gw);
    const leases = new ConnectionLeaseRepository(redis);
    const dispatcher = new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis), leases);
    const target = { connected: true, gatewayId: gw, connectionId: 'conn-1', epoch: 7, transport: TRANSPORT_WEBSOCKET };
    await dispatcher.push(tenant, uid, target, 'command', { command: { type: 0 } });
    const held = await leases.acquire(tenant, uid.toString('hex'), gw, 'conn-1');
    await dispatcher.push(tenant, uid, { ...target, epoch: held.lease.epoch }, 'command', { command: { type: 0 } });
    await waitFor(() => at, (g) => g.length === 2, { description: 'both pushes on the row gateway' });
    expect(at.map((p) => [p.connectionId, Number(p.epoch)])).toEqual([
      ['conn-1', 7],
      ['conn-1', held.lease.epoch],
    ]);
    expect(dispatcher.rerouted).toBe(0);
  });
});
