import { DesiredStateError, parseSelector } from '../core';
import type { AgentRow, DesiredStateRepository } from '../store/desired-state.repository';
import { AgentWatchHub, WATCH_REMOVED, WATCH_UPSERTED } from './agent-watch.hub';

/** Agents the stub repository knows, by uid hex; reads are counted. */
const agents = new Map<string, { env: string; connected: boolean }>();
let reads = 0;
const repo = {
  async agentsPage(_tenant: string, _after: Buffer | null, _limit: number, _where: string, params: unknown[]): Promise<AgentRow[]> {
    reads++;
    return (params[0] as Buffer[])
      .filter((u) => agents.has(u.toString('hex')))
      .map((u) => {
        const a = agents.get(u.toString('hex'))!;
        return { instanceUid: u, labels: { env: a.env }, connected: a.connected, healthy: true, remoteConfigStatus: 0 } as unknown as AgentRow;
      });
  },
} as unknown as DesiredStateRepository;

const uid = (i: number) => Buffer.alloc(16, i);
const view = (row: AgentRow) => ({
  message: { instanceUid: row.instanceUid.toString('hex'), env: row.labels['env'] },
  facts: { labels: row.labels, connected: row.connected, healthy: row.healthy, inSync: false, remoteConfigStatus: row.remoteConfigStatus },
});
const prod = { selector: parseSelector('env=prod'), configStatuses: [] };

beforeEach(() => {
  agents.clear();
  reads = 0;
});

describe('AgentWatchHub', () => {
  it('merges the notices of one window into one read and one event per agent, per tenant', async () => {
    const hub = new AgentWatchHub(repo, view, { coalesceMs: 5 });
    const watch = hub.open('t1', prod);
    agents.set(uid(1).toString('hex'), { env: 'prod', connected: true });
    hub.notice('t1', [uid(1)]);
    hub.notice('t1', [uid(1)]);
    hub.notice('t2', [uid(1)]); // nobody watches t2: no read
    await hub.settled();
    expect(reads).toBe(1);
    const event = await watch.next();
    expect(event).toMatchObject({ kind: WATCH_UPSERTED, agent: { instanceUid: uid(1).toString('hex'), env: 'prod' } });
    expect(event!.cursor).toMatch(/^\d+-\d+$/);
    watch.close();
    expect(await watch.next()).toBeNull();
    expect(hub.metrics).toMatchObject({ watchersActive: 0, watchersOpened: 1, streamsDropped: 0, eventsSent: 1 });
  });

  it('tells REMOVED once when an agent stops matching or is gone, and UPSERTED again when it matches', async () => {
    const hub = new AgentWatchHub(repo, view, { coalesceMs: 0 });
    const watch = hub.open('t', prod);
    agents.set(uid(2).toString('hex'), { env: 'dev', connected: true });
    hub.notice('t', [uid(2), uid(3)]);
    await hub.settled();
    expect(await watch.next()).toMatchObject({ kind: WATCH_REMOVED, agent: { env: 'dev' } });
    expect(await watch.next()).toMatchObject({ kind: WATCH_REMOVED, agent: { instanceUid: uid(3).toString('hex') } });
    hub.notice('t', [uid(2)]);
    await hub.settled();
    agents.set(uid(2).toString('hex'), { env: 'prod', connected: true });
    hub.notice('t', [uid(2)]);
    await hub.settled();
    expect(await watch.next()).toMatchObject({ kind: WATCH_UPSERTED, agent: { env: 'prod' } });
    hub.close();
    expect(await watch.next()).toBeNull();
  });

  it('ends a watch that falls behind with RESOURCE_EXHAUSTED, and only that one', async () => {
    const hub = new AgentWatchHub(repo, view, { coalesceMs: 0, maxQueue: 2 });
    const slow = hub.open('t', prod);
    const fast = hub.open('t', prod);
    const got: string[] = [];
    const reader = (async () => {
      for (let e = await fast.next(); e; e = await fast.next()) got.push(String(e.agent['instanceUid']));
    })();
    for (let i = 1; i <= 3; i++) {
      agents.set(uid(i).toString('hex'), { env: 'prod', connected: true });
      hub.notice('t', [uid(i)]);
      await hub.settled();
    }
    await expect(slow.next()).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/list the agents again and watch again/) });
    expect(hub.metrics).toMatchObject({ watchersActive: 1, streamsDropped: 1 });
    fast.close();
    await reader;
    expect(got).toEqual([1, 2, 3].map((i) => uid(i).toString('hex')));
  });

  it('ends every watch when the feed had a gap', async () => {
    const hub = new AgentWatchHub(repo, view);
    const watch = hub.open('t', prod);
    hub.endAll(new DesiredStateError('UNAVAILABLE', 'feed interrupted'));
    await expect(watch.next()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(hub.metrics.streamsDropped).toBe(1);
  });
});
