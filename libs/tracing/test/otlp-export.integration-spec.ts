/**
 * Spans leave the process over real OTLP/HTTP (protobuf) to a receiver on
 * loopback: the SDK's exporter, not an in-memory stand-in.
 */
import { OtlpTraceReceiver, waitFor } from '@opamp/testing';
import { ServerTracing } from '../src';

describe('ServerTracing over OTLP/HTTP', () => {
  const receiver = new OtlpTraceReceiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('exports a trace that crosses two "processes" (two providers) with its parent links and resources', async () => {
    const gateway = ServerTracing.start({ endpoint: receiver.url, sampleRatio: 1 }, { serviceName: 'gateway', instanceId: 'gw-1' });
    const ingest = ServerTracing.start({ endpoint: receiver.url, sampleRatio: 1, headers: { 'x-test': '1' } }, { serviceName: 'status-ingest' });
    const receive = gateway.startSampled('opamp.receive', { 'opamp.instance_uid': 'abc' })!;
    const apply = ingest.continueFrom(receive.traceParent, 'ingest.apply')!;
    apply.fail(new Error('row locked')).end();
    receive.end();
    await Promise.all([gateway.shutdown(), ingest.shutdown()]);
    const spans = await waitFor(() => receiver.trace(receive.traceId), (s) => s.length === 2, { timeoutMs: 10_000, description: 'both spans' });
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect(byName.get('opamp.receive')).toMatchObject({ service: 'gateway', parentSpanId: '', attributes: { 'opamp.instance_uid': 'abc' } });
    expect(byName.get('ingest.apply')).toMatchObject({ service: 'status-ingest', parentSpanId: byName.get('opamp.receive')!.spanId, statusCode: 2 });
  });
});
