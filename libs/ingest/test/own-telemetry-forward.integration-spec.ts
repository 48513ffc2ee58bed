/**
 * Forwarding agents' own telemetry to an external OTLP endpoint (issue 19
 * item 3), against a real OTLP/HTTP receiver on loopback: each record's OTLP
 * request arrives unchanged at /v1/<signal> with the configured headers; a
 * destination that refuses or is not there is counted, never thrown.
 */
import { fleet } from '@opamp/contracts';
import { newInstanceUidV7, opentelemetry } from '@opamp/protocol';
import { freePort, OtlpExportReceiver } from '@opamp/testing';
import { OwnTelemetryForwarder } from '../src';

const S = fleet.v1.AgentTelemetrySignal;

describe('own telemetry forwarding (real OTLP/HTTP receiver)', () => {
  const receiver = new OtlpExportReceiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  it('POSTs each record unchanged to its signal path with the headers, and counts what failed', async () => {
    const metrics = Buffer.from(
      opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode({
        resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'otelcol_exporter_sent_spans', sum: { dataPoints: [{ timeUnixNano: Date.now() * 1e6, asInt: 42 }] } }] }] }],
      }).finish(),
    );
    const traces = Buffer.from(
      opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.encode({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'export', traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2) }] }] }] }).finish(),
    );
    const uid = newInstanceUidV7();
    const forwarder = new OwnTelemetryForwarder(`${receiver.url}/`, { headers: { authorization: 'Bearer backend-key' } });
    await forwarder.consume([
      { tenantId: 't', instanceUid: uid, signal: S.AGENT_TELEMETRY_SIGNAL_METRICS, otlpRequest: metrics },
      { tenantId: 't', instanceUid: uid, signal: S.AGENT_TELEMETRY_SIGNAL_TRACES, otlpRequest: traces },
    ]);
    expect(forwarder.totals).toEqual({ forwarded: 2, failed: 0 });
    const byKind = Object.fromEntries(receiver.received.map((r) => [r.signal, r]));
    expect(Object.keys(byKind).sort()).toEqual(['metrics', 'traces']);
    expect(byKind['metrics'].headers['authorization']).toBe('Bearer backend-key');
    const m = byKind['metrics'].request;
    expect(m.signal === 'metrics' && m.request.resourceMetrics[0].scopeMetrics![0].metrics![0].name).toBe('otelcol_exporter_sent_spans');
    const t = byKind['traces'].request;
    expect(t.signal === 'traces' && t.request.resourceSpans[0].scopeSpans![0].spans![0].name).toBe('export');

    const nowhere = new OwnTelemetryForwarder(`http://127.0.0.1:${await freePort()}`, { timeoutMs: 2_000 });
    await nowhere.consume([{ tenantId: 't', instanceUid: uid, signal: S.AGENT_TELEMETRY_SIGNAL_METRICS, otlpRequest: metrics }]);
    expect(nowhere.totals).toEqual({ forwarded: 0, failed: 1 });
  });
});
