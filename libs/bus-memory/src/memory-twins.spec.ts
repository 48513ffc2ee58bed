import { KeyedBatchQueue } from './keyed-batch.queue';
import { MemoryLeaseStore } from './memory-lease.store';
import { MemoryPendingStore } from './memory-pending.store';
import { MemoryPushBus } from './memory-push.bus';
import { MemoryAgentChangeFeed } from './memory-agent-change.feed';

describe('MemoryLeaseStore', () => {
  it('fences like the Redis leases: rising epochs, compare-and-set refresh and release', async () => {
    const now = 5_000;
    const leases = new MemoryLeaseStore(1_000, () => now);
    const a = await leases.acquire('t', 'u', 'gw-1', 'c1');
    expect(a).toEqual({ lease: { gatewayId: 'gw-1', connectionId: 'c1', epoch: 5_000 }, previous: null });
    const b = await leases.acquire('t', 'u', 'gw-2', 'c2');
    expect(b.previous).toEqual(a.lease);
    expect(b.lease.epoch).toBe(5_001);
    expect(await leases.refresh('t', 'u', a.lease)).toBe(false);
    expect(await leases.release('t', 'u', a.lease)).toBe(false);
    expect(await leases.release('t', 'u', b.lease)).toBe(true);
    expect((await leases.acquire('t', 'u', 'gw-1', 'c3')).lease.epoch).toBe(5_002);
  });

  it('issues epochs above every earlier process\'s after a restart (they start at the clock)', async () => {
    const before = await new MemoryLeaseStore(1_000, () => 1_000).acquire('t', 'u', 'gw', 'c');
    const afterRestart = await new MemoryLeaseStore(1_000, () => 2_000).acquire('t', 'u', 'gw', 'c');
    expect(afterRestart.lease.epoch).toBeGreaterThan(before.lease.epoch);
  });

  it('expires leases that are not refreshed', async () => {
    let now = 0;
    const leases = new MemoryLeaseStore(100, () => now);
    const { lease } = await leases.acquire('t', 'u', 'gw', 'c');
    now = 99;
    expect(await leases.refresh('t', 'u', lease)).toBe(true);
    now = 198;
    expect(await leases.get('t', 'u')).toEqual(lease);
    now = 200;
    expect(await leases.get('t', 'u')).toBeNull();
    expect((await leases.acquire('t', 'u', 'gw', 'd')).previous).toBeNull();
  });
});

describe('MemoryPushBus', () => {
  it('delivers to the listening gateway only and reports receivers', async () => {
    const bus = new MemoryPushBus();
    const got: string[] = [];
    await bus.inbox('gw-a').start((p) => got.push(p.toString()));
    expect(await bus.publish('gw-a', Buffer.from('x'))).toBe(1);
    expect(await bus.publish('gw-b', Buffer.from('y'))).toBe(0);
    await Promise.resolve();
    expect(got).toEqual(['x']);
    await bus.inbox('gw-a').stop();
    expect(await bus.publish('gw-a', Buffer.from('z'))).toBe(0);
  });
});

describe('MemoryPendingStore', () => {
  it('keeps the latest item per kind, hands it out once, never overwrites on put-back', async () => {
    const pending = new MemoryPendingStore();
    await pending.put('t', 'u', 'remote_config', Buffer.from('1'));
    await pending.put('t', 'u', 'remote_config', Buffer.from('2'));
    await pending.putBack('t', 'u', { kind: 'remote_config', serverToAgent: Buffer.from('old') });
    await pending.putBack('t', 'u', { kind: 'flags', serverToAgent: Buffer.from('f') });
    const items = await pending.take('t', 'u');
    expect(Object.fromEntries(items.map((i) => [i.kind, i.serverToAgent.toString()]))).toEqual({ remote_config: '2', flags: 'f' });
    expect(await pending.take('t', 'u')).toEqual([]);
  });

  it('holds what a reply delivered on one credential and hands it out once on another (unless a newer item of its kind waits)', async () => {
    const pending = new MemoryPendingStore();
    const item = (kind: string, v: string) => ({ kind, serverToAgent: Buffer.from(v) });
    await pending.hold('t', 'u', 'old', [item('remote_config', 'c1'), item('command', 'restart')]);
    // Still on the old credential: a switch under way, nothing handed out again.
    expect(await pending.takeFor('t', 'u', 'old')).toEqual({ items: [], holding: true });
    await pending.put('t', 'u', 'remote_config', Buffer.from('c2'));
    const onNew = await pending.takeFor('t', 'u', 'new');
    expect(onNew.holding).toBe(false);
    expect(Object.fromEntries(onNew.items.map((i) => [i.kind, i.serverToAgent.toString()]))).toEqual({ remote_config: 'c2', command: 'restart' });
    expect(await pending.takeFor('t', 'u', 'new')).toEqual({ items: [], holding: false });
    // A deleted agent leaves nothing behind.
    await pending.put('t', 'u', 'remote_config', Buffer.from('c3'));
    await pending.hold('t', 'u', 'new', [item('command', 'restart')]);
    await pending.forget('t', 'u');
    expect(await pending.takeFor('t', 'u', 'other')).toEqual({ items: [], holding: false });
  });

  it('forgets items after their time to live', async () => {
    let now = 0;
    const pending = new MemoryPendingStore(50, () => now);
    await pending.put('t', 'u', 'k', Buffer.from('v'));
    now = 50;
    expect(await pending.take('t', 'u')).toEqual([]);
  });
});

describe('KeyedBatchQueue', () => {
  const key = (i: number) => Buffer.from([0, 0, 0, i]);

  it('keeps per-key order, batches, and resolves sends once their batch is handled', async () => {
    const q = new KeyedBatchQueue({ partitions: 3, maxBatch: 4 });
    const seen = new Map<number, number[]>();
    const batches: number[] = [];
    q.consume(async (records) => {
      batches.push(records.length);
      await new Promise((r) => setImmediate(r));
      for (const r of records) {
        const k = r.key[3];
        seen.set(k, [...(seen.get(k) ?? []), r.value[0]]);
      }
    });
    const sends: Promise<void>[] = [];
    for (let seq = 0; seq < 10; seq++) for (let k = 0; k < 5; k++) sends.push(q.send(key(k), Buffer.from([seq])));
    expect(q.backlog).toBe(50);
    await Promise.all(sends);
    expect(q.backlog).toBe(0);
    for (let k = 0; k < 5; k++) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...batches)).toBeLessThanOrEqual(4);
  });

  it('rejects the sends of a failed batch and goes on with the next', async () => {
    const q = new KeyedBatchQueue({ partitions: 1, maxBatch: 1 });
    let calls = 0;
    q.consume(async () => {
      if (calls++ === 0) throw new Error('boom');
    });
    const results = await Promise.allSettled([q.send(key(1), Buffer.from('a')), q.send(key(1), Buffer.from('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('handles a batch again after a failure the retry policy calls transient, in order, resolving its sends', async () => {
    const transient = new Error('the database is busy');
    const retried: unknown[] = [];
    const q = new KeyedBatchQueue({ partitions: 1, maxBatch: 10, retry: { isRetryable: (e) => e === transient, minMs: 1, maxMs: 2, onRetry: (e) => retried.push(e) } });
    const handled: string[][] = [];
    let fails = 2;
    q.consume(async (records) => {
      handled.push(records.map((r) => r.value.toString()));
      if (fails-- > 0) throw transient;
    });
    await Promise.all([q.send(key(1), Buffer.from('a')), q.send(key(1), Buffer.from('b'))]);
    // 'b' waits behind the batch being retried: per-key order holds.
    expect(handled).toEqual([['a'], ['a'], ['a'], ['b']]);
    expect(retried).toEqual([transient, transient]);
    expect(q.retries).toBe(2);
    expect(q.backlog).toBe(0);
  });

  it('rejects at once what the retry policy does not call transient, and stops retrying some time after close', async () => {
    const transient = new Error('the database is busy');
    const q = new KeyedBatchQueue({ partitions: 1, maxBatch: 1, retry: { isRetryable: (e) => e === transient, minMs: 1, maxMs: 1, afterCloseMs: 0 } });
    let calls = 0;
    q.consume(async (records) => {
      calls++;
      if (records[0].value.toString() === 'bug') throw new Error('a bug');
      throw transient;
    });
    await expect(q.send(key(1), Buffer.from('bug'))).rejects.toThrow('a bug');
    expect(calls).toBe(1);
    const stuck = q.send(key(1), Buffer.from('x'));
    const rejected = expect(stuck).rejects.toBe(transient);
    await q.close();
    await rejected;
  });

  it('waits for queued records on close and refuses new ones', async () => {
    const q = new KeyedBatchQueue();
    const handled: string[] = [];
    const pending = q.send(key(1), Buffer.from('late'));
    q.consume(async (records) => {
      handled.push(...records.map((r) => r.value.toString()));
    });
    await q.close();
    await pending;
    expect(handled).toEqual(['late']);
    await expect(q.send(key(1), Buffer.from('x'))).rejects.toThrow(/closed/);
  });
});

describe('MemoryAgentChangeFeed', () => {
  it('gives every subscriber every notice, after the publish call, until it unsubscribes', async () => {
    const feed = new MemoryAgentChangeFeed();
    const a: string[] = [];
    const b: string[] = [];
    const offA = await feed.subscribe((n) => a.push(n.tenantId));
    await feed.subscribe((n) => b.push(n.tenantId));
    const published = feed.publish({ tenantId: 't1', instanceUids: [Buffer.alloc(16)] });
    expect(a).toEqual([]); // not inside publish
    await published;
    await new Promise((resolve) => setImmediate(resolve));
    expect([a, b]).toEqual([['t1'], ['t1']]);
    await offA();
    await feed.publish({ tenantId: 't2', instanceUids: [Buffer.alloc(16)] });
    await feed.publish({ tenantId: 'empty', instanceUids: [] });
    await new Promise((resolve) => setImmediate(resolve));
    expect([a, b]).toEqual([['t1'], ['t1', 't2']]);
  });
});
