/**
 * Against the real Redis from `npm run infra:up`: binary pushes reach the
 * owning gateway's subscriber only, and leases are fenced by epoch with
 * compare-and-set refresh and release.
 */
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import type Redis from 'ioredis';
import {
  AgentTokenDirectory,
  type AgentTokenChange,
  ConnectionLeaseRepository,
  GatewayPresence,
  createRedisConnection,
  GatewayPushPublisher,
  GatewayPushSubscriber,
  PendingPushStore,
} from '../src';

describe('Redis bus (real server)', () => {
  let commands: Redis;
  const extra: Redis[] = [];

  function connection(name: string): Redis {
    const r = createRedisConnection({ url: testInfra().redisUrl, connectionName: name });
    extra.push(r);
    return r;
  }

  beforeAll(() => {
    commands = connection('test-commands');
  });

  afterAll(async () => {
    await Promise.all(extra.map((r) => r.quit().catch(() => undefined)));
  });

  it('delivers a binary push to the owning gateway only, and reports receivers', async () => {
    const gwA = uniqueName('gw-a');
    const gwB = uniqueName('gw-b');
    const gotA: Buffer[] = [];
    const gotB: Buffer[] = [];
    const subA = new GatewayPushSubscriber(connection('sub-a'), gwA, (m) => gotA.push(m));
    const subB = new GatewayPushSubscriber(connection('sub-b'), gwB, (m) => gotB.push(m));
    await subA.start();
    await subB.start();
    const publisher = new GatewayPushPublisher(commands);

    // Bytes that are not valid UTF-8 must arrive unchanged.
    const payload = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x10]);
    expect(await publisher.publish(gwA, payload)).toBe(1);
    await waitFor(() => gotA.length, (n) => n === 1, { description: 'push on gateway A' });
    expect(gotA[0]).toEqual(payload);

    // After unsubscribing, nobody receives and the publisher learns it.
    await subA.stop();
    expect(await publisher.publish(gwA, payload)).toBe(0);
    expect(await publisher.publish(gwB, Buffer.from('b'))).toBe(1);
    await waitFor(() => gotB.length, (n) => n === 1, { description: 'push on gateway B' });
    expect(gotA).toHaveLength(1);
    await subB.stop();
  });

  it('fences leases: takeover bumps the epoch, the old owner can neither refresh nor release', async () => {
    const leases = new ConnectionLeaseRepository(commands, 60_000);
    const tenant = uniqueName('tenant');
    const uid = 'a1'.repeat(16);
    const startedAt = Date.now();

    const first = await leases.acquire(tenant, uid, 'gw-1', 'conn-1');
    expect(first.previous).toBeNull();
    // Epochs start at the clock, so they keep rising even if Redis loses its data.
    expect(first.lease.epoch).toBeGreaterThanOrEqual(startedAt);

    const second = await leases.acquire(tenant, uid, 'gw-2', 'conn-7');
    expect(second.lease.epoch).toBeGreaterThan(first.lease.epoch);
    expect(second.previous).toEqual(first.lease);

    expect(await leases.refresh(tenant, uid, first.lease)).toBe(false);
    expect(await leases.release(tenant, uid, first.lease)).toBe(false);
    expect(await leases.get(tenant, uid)).toEqual(second.lease);

    expect(await leases.refresh(tenant, uid, second.lease)).toBe(true);
    expect(await leases.release(tenant, uid, second.lease)).toBe(true);
    expect(await leases.get(tenant, uid)).toBeNull();

    // The epoch keeps rising after a release, so a stale push stays fenced.
    const third = await leases.acquire(tenant, uid, 'gw-1', 'conn-2');
    expect(third.lease.epoch).toBeGreaterThan(second.lease.epoch);
    expect(third.previous).toBeNull();

    // Redis lost the counter (restart without persistence): the next epoch is still higher. The floor
    // is the clock in ms, so the loss comes after the millisecond of the last epoch (as a restart does).
    await waitFor(() => Date.now(), (now) => now > third.lease.epoch, { description: 'the clock past the last epoch' });
    await commands.del(`opamp:epoch:{${tenant}:${uid}}`);
    const afterLoss = await leases.acquire(tenant, uid, 'gw-1', 'conn-3');
    expect(afterLoss.lease.epoch).toBeGreaterThan(third.lease.epoch);
  });

  it('acquires exclusively only a lease no other connection holds, changing nothing when refused', async () => {
    const leases = new ConnectionLeaseRepository(commands, 60_000);
    const tenant = uniqueName('tenant');
    const uid = 'c3'.repeat(16);
    // Both gateways are running (a lease of a gateway without presence is not live: below).
    const gw1 = uniqueName('gw-1');
    const gw2 = uniqueName('gw-2');
    const presences = [new GatewayPresence(commands, gw1), new GatewayPresence(commands, gw2)];
    for (const p of presences) await p.start();
    const first = await leases.acquire(tenant, uid, gw1, 'conn-1', true);
    expect(first.refused).toBeUndefined();
    const refused = await leases.acquire(tenant, uid, gw2, 'conn-2', true);
    expect(refused.refused).toBe(true);
    expect(refused.previous).toEqual(first.lease);
    expect(await leases.get(tenant, uid)).toEqual(first.lease);
    // The same connection may take its own lease again; a prefix of its id is not the same connection.
    expect((await leases.acquire(tenant, uid, gw1, 'conn', true)).refused).toBe(true);
    const again = await leases.acquire(tenant, uid, gw1, 'conn-1', true);
    expect(again.refused).toBeUndefined();
    expect(again.lease.epoch).toBeGreaterThan(first.lease.epoch);
    // The holder's gateway stops (its presence ends): its lease is not live any more.
    await presences[0].stop();
    const taken = await leases.acquire(tenant, uid, gw2, 'conn-2', true);
    expect(taken.refused).toBeUndefined();
    expect(taken.previous).toEqual(again.lease);
    // Once released, anyone may.
    expect(await leases.release(tenant, uid, taken.lease)).toBe(true);
    expect((await leases.acquire(tenant, uid, gw1, 'conn-3', true)).refused).toBeUndefined();
    await presences[1].stop();
  });

  it('frees, under an enrollment token, a lease left by a gateway that died and came back under the same id', async () => {
    // The Helm chart names a gateway after its pod: a kill -9 restarts the container under the same id,
    // present again within seconds, while its dead connections' leases live on for their TTL.
    const leases = new ConnectionLeaseRepository(commands, 60_000);
    const tenant = uniqueName('tenant');
    const uid = 'c4'.repeat(16);
    const gw1 = uniqueName('gw-1');
    const gw2 = uniqueName('gw-2');
    const other = new GatewayPresence(commands, gw2);
    await other.start();
    const before = new GatewayPresence(commands, gw1);
    await before.start();
    const held = await leases.acquire(tenant, uid, gw1, 'conn-1', true);
    // Still the same process: its lease is live.
    expect((await leases.acquire(tenant, uid, gw2, 'conn-2', true)).refused).toBe(true);
    // It dies (its presence key stays until its TTL) and a new process of the same id starts after the lease was taken.
    const after = new GatewayPresence(commands, gw1, undefined, undefined, held.lease.epoch + 1);
    await after.start();
    const taken = await leases.acquire(tenant, uid, gw2, 'conn-2', true);
    expect(taken.refused).toBeUndefined();
    expect(taken.previous).toEqual(held.lease);
    // A lease the new process takes is live.
    const again = await leases.acquire(tenant, uid, gw1, 'conn-3', false);
    expect((await leases.acquire(tenant, uid, gw2, 'conn-4', true)).refused).toBe(true);
    expect(again.lease.epoch).toBeGreaterThan(taken.lease.epoch);
    await Promise.all([after.stop(), other.stop()]);
    await before.stop();
  });

  it('keeps the credential directory and tenant policies, and announces every change', async () => {
    const directory = new AgentTokenDirectory(commands);
    const watcher = connection('test-directory-watch');
    const seen: AgentTokenChange[] = [];
    const unwatch = await AgentTokenDirectory.watch(watcher, (c) => seen.push(c));
    const tenant = uniqueName('tenant');
    const own = { digest: uniqueName('digest'), tenantId: tenant, tokenId: 'c1', kind: 'agent' as const, uidHex: 'd4'.repeat(16), active: true };
    const enrollment = { digest: uniqueName('digest'), tenantId: tenant, tokenId: 'e1', expiresAtMs: 1_900_000_000_000 };
    await directory.put(own);
    await directory.put(enrollment);
    await directory.putPolicy({ tenantId: tenant, requireAgentCredentials: true });
    const loaded = (await directory.loadAll()).filter((e) => e.tenantId === tenant);
    expect(loaded).toEqual(expect.arrayContaining([own, { ...enrollment, kind: 'enrollment' }]));
    expect(await directory.loadPolicies()).toContainEqual({ tenantId: tenant, requireAgentCredentials: true });
    await directory.remove(own.digest);
    await waitFor(() => seen.filter((c) => (c.action === 'policy' ? c.policy.tenantId : c.action === 'put' ? c.entry.tenantId : tenant) === tenant), (c) => c.length >= 4, {
      description: 'four changes',
    });
    expect(seen).toContainEqual({ action: 'put', entry: own });
    expect(seen).toContainEqual({ action: 'del', digest: own.digest });
    expect(seen).toContainEqual({ action: 'policy', policy: { tenantId: tenant, requireAgentCredentials: true } });
    await unwatch();
    await directory.remove(enrollment.digest);
  });

  it('puts and removes many entries in pipelined round trips, each one announced', async () => {
    const directory = new AgentTokenDirectory(commands);
    const watcher = connection('test-directory-many');
    const seen: AgentTokenChange[] = [];
    const unwatch = await AgentTokenDirectory.watch(watcher, (c) => seen.push(c));
    const tenant = uniqueName('tenant');
    const entries = Array.from({ length: 2_500 }, (_, i) => ({ digest: `${tenant}-${i}`, tenantId: tenant, tokenId: `c${i}`, kind: 'agent' as const, uidHex: 'e5'.repeat(16), active: false }));
    await directory.putMany(entries);
    expect((await directory.loadAll()).filter((e) => e.tenantId === tenant)).toHaveLength(2_500);
    await directory.removeMany(entries.map((e) => e.digest));
    expect((await directory.loadAll()).filter((e) => e.tenantId === tenant)).toEqual([]);
    await waitFor(() => seen.length, (n) => n >= 5_000, { description: 'every change announced' });
    expect(seen.filter((c) => c.action === 'put')).toHaveLength(2_500);
    await unwatch();
  });

  it('replaces the directory, keeping what it would remove but is told is still accepted', async () => {
    const directory = new AgentTokenDirectory(commands);
    const tenant = uniqueName('tenant');
    const [kept, dropped, wanted] = [uniqueName('kept'), uniqueName('dropped'), uniqueName('wanted')];
    await directory.put({ digest: kept, tenantId: tenant, tokenId: 'k' });
    await directory.put({ digest: dropped, tenantId: tenant, tokenId: 'd' });
    const others = (await directory.loadAll()).filter((e) => e.tenantId !== tenant);
    const asked: string[] = [];
    await directory.replaceAll([...others, { digest: wanted, tenantId: tenant, tokenId: 'w' }], async (digests) => {
      asked.push(...digests);
      return new Set([kept]);
    });
    expect(asked.sort()).toEqual([dropped, kept].sort());
    const mine = (await directory.loadAll()).filter((e) => e.tenantId === tenant).map((e) => e.digest).sort();
    expect(mine).toEqual([kept, wanted].sort());
    for (const d of mine) await directory.remove(d);
  });

  it('lets a lease expire when it is not refreshed', async () => {
    const leases = new ConnectionLeaseRepository(commands, 150);
    const tenant = uniqueName('tenant');
    const uid = 'b2'.repeat(16);
    await leases.acquire(tenant, uid, 'gw-1', 'conn-1');
    const ttl = await commands.pttl(`opamp:conn:{${tenant}:${uid}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(150);
    await waitFor(() => leases.get(tenant, uid), (l) => l === null, { timeoutMs: 5_000, description: 'lease expiry' });
  });

  it('keeps only the latest pending item of each kind and hands it out once', async () => {
    const pending = new PendingPushStore(commands, 60_000);
    const tenant = uniqueName('tenant');
    const uid = 'c3'.repeat(16);
    expect(await pending.take(tenant, uid)).toEqual([]);
    await pending.put(tenant, uid, 'remote_config', Buffer.from([1, 0xff]));
    await pending.put(tenant, uid, 'remote_config', Buffer.from([2, 0xfe]));
    await pending.put(tenant, uid, 'flags', Buffer.from([3]));
    const items = await pending.take(tenant, uid);
    expect(items.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'flags', serverToAgent: Buffer.from([3]) },
      { kind: 'remote_config', serverToAgent: Buffer.from([2, 0xfe]) },
    ]);
    expect(await pending.take(tenant, uid)).toEqual([]);

    // Putting back never overwrites a newer item of the same kind.
    await pending.put(tenant, uid, 'remote_config', Buffer.from('newer'));
    await pending.putBack(tenant, uid, { kind: 'remote_config', serverToAgent: Buffer.from('older') });
    await pending.putBack(tenant, uid, { kind: 'flags', serverToAgent: Buffer.from('f') });
    const after = await pending.take(tenant, uid);
    expect(Object.fromEntries(after.map((i) => [i.kind, i.serverToAgent.toString()]))).toEqual({
      remote_config: 'newer',
      flags: 'f',
    });
  });

  it('hands a pending item to exactly one of several concurrent takers', async () => {
    const pending = new PendingPushStore(commands, 60_000);
    const tenant = uniqueName('tenant');
    const uid = 'd4'.repeat(16);
    await pending.put(tenant, uid, 'remote_config', Buffer.from('cfg'));
    const results = await Promise.all([1, 2, 3, 4].map(() => pending.take(tenant, uid)));
    expect(results.filter((r) => r.length === 1)).toHaveLength(1);
  });
});
