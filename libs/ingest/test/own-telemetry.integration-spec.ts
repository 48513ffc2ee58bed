/**
 * The own-telemetry consumer (issue 19) on the real Kafka and PostgreSQL:
 * AgentTelemetry records from the topic are counted per agent (data points,
 * spans, log records, the latest receive time) in one write per batch; a
 * record of an agent that does not exist is dropped and counted, a poisoned
 * one skipped; the counters go with the agent.
 */
import { deleteTopics, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { AgentTelemetryCodec, fleet } from '@opamp/contracts';
import { newInstanceUidV7 } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { OwnTelemetryCounterRepository, OwnTelemetryCounters, OwnTelemetryWorker } from '../src';
import { IngestHarness } from './ingest-harness';

const S = fleet.v1.AgentTelemetrySignal;

describe('own-telemetry counters (real Kafka, PostgreSQL)', () => {
  const h = new IngestHarness();
  const topic = `${h.runId}.telemetry`;
  let worker: OwnTelemetryWorker;
  let counters: OwnTelemetryCounters;

  beforeAll(async () => {
    await h.start([`${h.runId}-gw`]);
    await ensureTopics(h.kafka, [{ name: topic, partitions: 2, retentionMs: 3_600_000, valueType: 'AgentTelemetry' }]);
    await h.pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [h.tenant]);
    counters = new OwnTelemetryCounters(h.db);
    worker = new OwnTelemetryWorker({ kafka: h.kafka, topic, groupId: `${h.runId}.own-telemetry`, consumer: counters });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await deleteTopics(h.kafka, [topic]).catch(() => undefined);
    await h.stop();
  });

  it('counts per agent and signal, drops unknown agents and poisoned records, and the counters go with the agent', async () => {
    const known = newInstanceUidV7();
    const unknown = newInstanceUidV7();
    await h.pool.query(`INSERT INTO agents (tenant_id, instance_uid) VALUES ($1, $2)`, [h.tenant, known]);
    const record = (uid: Buffer, signal: fleet.v1.AgentTelemetrySignal, items: number, at: number) => ({
      key: uid,
      value: AgentTelemetryCodec.encode({ tenantId: h.tenant, instanceUid: uid, signal, items, receivedAtMs: at, otlpRequest: Buffer.alloc(0), gatewayId: 'gw' }),
    });
    const t0 = Date.UTC(2026, 11, 2, 6, 0, 0);
    // The producer the gateway uses (it retries while a new topic's leaders settle).
    const producer = new RecordProducer(h.kafka);
    await producer.connect();
    const messages = [
      record(known, S.AGENT_TELEMETRY_SIGNAL_METRICS, 3, t0),
      record(known, S.AGENT_TELEMETRY_SIGNAL_METRICS, 4, t0 + 10_000),
      record(known, S.AGENT_TELEMETRY_SIGNAL_TRACES, 2, t0 + 5_000),
      record(known, S.AGENT_TELEMETRY_SIGNAL_LOGS, 1, t0 + 1_000),
      record(unknown, S.AGENT_TELEMETRY_SIGNAL_METRICS, 9, t0),
      { key: known, value: Buffer.from([0xff, 0xff, 0xff]) },
    ];
    for (const m of messages) await producer.send(topic, m);
    await producer.disconnect();
    const repo = new OwnTelemetryCounterRepository(h.db);
    const c = await waitFor(() => repo.of(h.tenant, known), (x) => x?.dataPoints === 7 && x.logRecords === 1 && x.spans === 2, { description: 'the counters' });
    expect(c).toEqual({ dataPoints: 7, spans: 2, logRecords: 1, lastReceivedAt: new Date(t0 + 10_000).toISOString() });
    await waitFor(async () => counters.totals.unknownAgents + worker.poisoned, (n) => n === 2, { description: 'the unknown agent and the poisoned record counted' });
    expect(await repo.of(h.tenant, unknown)).toBeNull();

    await h.pool.query(`DELETE FROM agents WHERE tenant_id = $1 AND instance_uid = $2`, [h.tenant, known]);
    expect(await repo.of(h.tenant, known)).toBeNull();
  });
});
