/**
 * A record with values PostgreSQL cannot hold that got past the gateway (an
 * older gateway, or one already on the topic), against real Kafka, Redis and
 * PostgreSQL: its valid part is stored, the batch does not fail, and the
 * agent's next message is no gap, so nothing asks it for full state again.
 */
import { decodeServerToAgent, ServerToAgentFlags } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { AgentRepository, type AgentState } from '../src';
import { FakeAgent, fullReportFields } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

describe('status-ingest: values PostgreSQL cannot store (real Kafka, Redis, PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  let w: ReturnType<IngestHarness['worker']>;

  beforeAll(async () => {
    await h.start(['gw-a']);
    w = h.worker();
    await w.start();
  });

  afterAll(() => h.stop());

  it('stores the valid part of a full report with U+0000 in it, and the next heartbeat asks nothing', async () => {
    const a = new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now() });
    const bad = fullReportFields({
      health: { healthy: true, status: 'ok', componentHealthMap: { good: { healthy: true }, bad: { lastError: 'boom\u0000' } } },
    });
    bad.agentDescription!.nonIdentifyingAttributes!.push({ key: 'host.name', value: { stringValue: 'h\u0000st' } });
    await h.produce([a.toKafka(a.connect()), a.toKafka(a.send(bad))]);
    const stored = (await waitFor(() => repo.get(h.db, h.tenant, a.uid), (s) => s?.descriptionReported === true, {
      timeoutMs: 20_000,
      description: 'the report stored',
    })) as AgentState;
    expect(stored.lastSequenceNum).toBe(0);
    expect(JSON.stringify(stored)).not.toContain('h\\u0000st');

    const fullStateAsked = () =>
      h.pushes.filter(
        (p) =>
          Buffer.from(p.push.instanceUid).equals(a.uid) &&
          p.push.serverToAgent.length > 0 &&
          (Number(decodeServerToAgent(p.push.serverToAgent).flags) & ServerToAgentFlags.ReportFullState) !== 0,
      ).length;
    const askedBefore = fullStateAsked();
    const records = w.processor.totals.records;
    await h.produce([a.toKafka(a.heartbeat())]);
    // Pushes go out before the batch's totals are counted.
    await waitFor(() => w.processor.totals.records, (n) => n > records, { description: 'the heartbeat processed' });
    expect(fullStateAsked()).toBe(askedBefore);
    expect(w.processor.totals.poisoned).toBe(0);
  });
});
