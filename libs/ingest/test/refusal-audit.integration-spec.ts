/**
 * Refusals the gateways report (a per-agent credential used for another
 * agent, a duplicate connection under an enrollment token) end in the
 * tenant's audit log, against real Kafka, Redis and PostgreSQL: one row per
 * distinct refusal in a batch with the number of attempts, no agent record
 * created or changed, and the other agents of the batch processed as usual.
 */
import { fleet } from '@opamp/contracts';
import { waitFor } from '@opamp/testing';
import { AgentRepository } from '../src';
import { FakeAgent } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

describe('status-ingest: refusals reported by gateways (real Kafka, Redis, PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  let w: ReturnType<IngestHarness['worker']>;

  beforeAll(async () => {
    await h.start(['gw-a']);
    w = h.worker();
    await w.start();
  });

  afterAll(() => h.stop());

  it('writes a refusal to the audit log, counts repeated attempts once per batch, and touches no agent record', async () => {
    const good = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    const thief = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    thief.credentialId = 'cred-of-someone-else';
    const refusal = (): fleet.v1.IAgentInbound => ({
      tenantId: h.tenant,
      gatewayId: 'gw-a',
      connectionId: 'c-1',
      epoch: 0,
      credentialId: thief.credentialId,
      credentialKind: fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT,
      receivedAtUnixMs: Date.now(),
      refused: { reason: fleet.v1.RefusalReason.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT, detail: 'this credential belongs to another agent' },
    });
    await h.produce([good.toKafka(good.connect()), good.toKafka(good.full()), thief.toKafka(refusal()), thief.toKafka(refusal()), thief.toKafka(refusal())]);
    await waitFor(() => repo.get(h.db, h.tenant, good.uid), (s) => s?.descriptionReported === true, { timeoutMs: 20_000, description: 'the good agent stored' });
    const rows = await waitFor(
      async () =>
        (
          await h.db.query(`SELECT actor, action, resource_type, resource_name, details FROM audit_log WHERE tenant_id = $1 AND action LIKE 'agent.refused.%'`, [
            h.tenant,
          ])
        ).rows,
      (r) => r.reduce((n, row) => n + Number((row['details'] as { attempts: number }).attempts), 0) === 3,
      { timeoutMs: 20_000, description: 'three attempts audited' },
    );
    for (const row of rows) {
      expect(row).toMatchObject({
        actor: 'gateway:gw-a',
        action: 'agent.refused.credential_of_another_agent',
        resource_type: 'agent',
        resource_name: thief.uid.toString('hex'),
        details: { credentialId: 'cred-of-someone-else', detail: 'this credential belongs to another agent' },
      });
    }
    expect(await repo.get(h.db, h.tenant, thief.uid)).toBeNull();
    expect(w.processor.totals.refused).toBe(3);
    expect(w.processor.totals.poisoned).toBe(0);
  });
});
