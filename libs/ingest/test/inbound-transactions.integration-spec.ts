/**
 * The full path's transactions (issue 15 item 3), on the real PostgreSQL: a
 * batch of many new agents is applied in transactions of at most
 * INGEST_DEFAULTS.recordsPerTransaction records, one after the other, so no
 * single one holds the event loop for the whole batch (500 new agents' first
 * reports were hundreds of ms of synchronous work in the embedded server).
 */
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { INGEST_DEFAULTS, InboundProcessor, MemoryCursorStore, type PushDispatcher } from '../src';
import { FakeAgent } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

describe('transactions of an inbound batch (real PostgreSQL)', () => {
  const h = new IngestHarness();

  beforeAll(async () => {
    await h.start(['gw-tx']);
  });

  afterAll(async () => {
    await h.stop();
  });

  it('applies 250 new agents in transactions of at most recordsPerTransaction records, in order, and writes every one', async () => {
    let transactions = 0;
    const db: SqlDatabase = {
      query: (sql, params) => h.db.query(sql, params),
      transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => {
        transactions++;
        return h.db.transaction(fn);
      },
    };
    const events: Buffer[] = [];
    const processor = new InboundProcessor({
      db,
      cursors: new MemoryCursorStore(),
      events: { publish: async (records) => void events.push(...records.map((r) => r.value)) },
      pushes: { dispatch: async () => undefined } as unknown as PushDispatcher,
    });
    const agents = Array.from({ length: 250 }, () => new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-tx', startMs: Date.now() }));
    // Each agent's connect and first full report, agent after agent: 500 records, as one partition batch brings them.
    const batch = agents.flatMap((a) => [a.toKafka(a.connect()), a.toKafka(a.full())]);
    const stats = await processor.process(batch);

    expect(transactions).toBe(Math.ceil(batch.length / INGEST_DEFAULTS.recordsPerTransaction));
    expect(transactions).toBeGreaterThan(1);
    expect({ rowsWritten: stats.rowsWritten, events: stats.events, poisoned: stats.poisoned }).toEqual({ rowsWritten: 250, events: 250, poisoned: 0 });
    const { rows } = await h.db.query<{ n: string; described: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE last_sequence_num = 0) AS described FROM agents WHERE tenant_id = $1`,
      [h.tenant],
    );
    expect(rows[0]).toEqual({ n: '250', described: '250' });
  });
});
