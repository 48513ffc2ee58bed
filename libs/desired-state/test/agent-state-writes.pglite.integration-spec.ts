/**
 * The reconciler's per-agent decision rows are written only when a decision
 * changes (or a config was sent now): an agent event that changes nothing must
 * cost no row write. On the embedded database (PGlite, the same SQL).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { DesiredStateRepository, type AgentStateWrite } from '../src';

describe('agent decision rows (PGlite)', () => {
  let db: PgliteSqlDatabase;
  let repo: DesiredStateRepository;
  const uid = Buffer.alloc(16, 7);
  const rowVersion = async () =>
    (await db.query<{ v: string }>(`SELECT xmin::text AS v FROM agent_config_state WHERE tenant_id = 't' AND instance_uid = $1`, [uid])).rows[0]?.v;

  beforeAll(async () => {
    db = await PgliteSqlDatabase.open(mkdtempSync(join(tmpdir(), 'state-writes-')));
    await migrateToLatest(db);
    repo = new DesiredStateRepository(db);
    // Decisions are only ever written for an agent that exists.
    await db.query(`INSERT INTO tenants (id, name) VALUES ('t', 't')`);
    await db.query(`INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, transport, epoch) VALUES ('t', $1, 0, '{}'::jsonb, false, 1, 1)`, [uid]);
  }, 60_000);

  afterAll(() => db?.close());

  it('skips the write when nothing changed, writes when the decision changes or a config is sent', async () => {
    const base: AgentStateWrite = {
      instanceUid: uid,
      configurationName: 'c',
      configurationVersion: 1,
      desiredHash: Buffer.alloc(32, 1),
      notSentReason: null,
      sentHash: null,
      desiredSinceMs: null,
    };
    await repo.writeAgentStates('t', [base]);
    const first = await rowVersion();
    expect(first).toBeDefined();

    await repo.writeAgentStates('t', [{ ...base }]);
    expect(await rowVersion()).toBe(first);

    await repo.writeAgentStates('t', [{ ...base, configurationVersion: 2, desiredHash: Buffer.alloc(32, 2) }]);
    const second = await rowVersion();
    expect(second).not.toBe(first);

    await repo.writeAgentStates('t', [{ ...base, configurationVersion: 2, desiredHash: Buffer.alloc(32, 2), sentHash: Buffer.alloc(32, 2) }]);
    const third = await rowVersion();
    expect(third).not.toBe(second);
    const row = await db.query<{ last_sent_hash: Uint8Array }>(`SELECT last_sent_hash FROM agent_config_state WHERE instance_uid = $1`, [uid]);
    expect(Buffer.from(row.rows[0].last_sent_hash)).toEqual(Buffer.alloc(32, 2));
  });
});
