import { counterRate, extractOwnMetrics, ownMetricName, rollupOwnPoints, type OtlpMetricsLike, type OwnMetricSample } from './own-metric-series';
import { INGEST_DEFAULTS } from './ingest-defaults';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);

function request(metrics: { name: string; value: number; attrs?: Record<string, string>; gauge?: boolean; atMs?: number }[]): OtlpMetricsLike {
  return {
    resourceMetrics: [
      {
        scopeMetrics: [
          {
            metrics: metrics.map((m) => {
              const point = { timeUnixNano: ns(m.atMs ?? T0), asDouble: m.value, attributes: Object.entries(m.attrs ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })) };
              return m.gauge ? { name: m.name, gauge: { dataPoints: [point] } } : { name: m.name, sum: { dataPoints: [point] } };
            }),
          },
        ],
      },
    ],
  };
}

describe('own metric names', () => {
  it.each([
    ['otelcol_process_cpu_seconds', 'process_cpu_seconds', ''],
    ['otelcol_process_cpu_seconds_total', 'process_cpu_seconds', ''],
    ['otelcol.process.cpu.seconds', 'process_cpu_seconds', ''],
    ['otelcol_process_memory_rss', 'process_memory_rss', ''],
    ['otelcol_process_memory_rss_bytes', 'process_memory_rss', ''],
    ['otelcol_receiver_accepted_spans', 'receiver_accepted', 'spans'],
    ['otelcol_receiver_accepted_metric_points_total', 'receiver_accepted', 'metric_points'],
    ['otelcol.receiver.refused.log_records', 'receiver_refused', 'log_records'],
    ['otelcol_exporter_sent_spans_total', 'exporter_sent', 'spans'],
    ['otelcol_exporter_send_failed_metric_points', 'exporter_send_failed', 'metric_points'],
    ['otelcol.exporter.send_failed.log_records', 'exporter_send_failed', 'log_records'],
    ['otelcol_exporter_queue_size', 'exporter_queue_size', ''],
    ['otelcol.exporter.queue.capacity', 'exporter_queue_capacity', ''],
    ['otelcol_processor_dropped_spans', 'processor_dropped', 'spans'],
    ['otelcol_processor_refused_metric_points_total', 'processor_refused', 'metric_points'],
    // processorhelper since v0.110: items in and out, the signal an attribute.
    ['otelcol_processor_incoming_items', 'processor_incoming', ''],
    ['otelcol_processor_outgoing_items_total', 'processor_outgoing', ''],
  ])('%s is %s (%s), in either naming', (name, kind, signal) => {
    expect(ownMetricName(name)).toMatchObject({ kind, signal });
  });

  it.each(['otelcol_processor_incoming_spans', 'otelcol_receiver_failed_spans', 'otelcol.processor.consumed.items', 'otelcol_process_uptime', 'otelcol_exporter_enqueue_failed_spans', 'http.server.duration', 'receiver_accepted_spans', 'otelcol_receiver_accepted_bananas'])('%s is not kept', (name) => {
    expect(ownMetricName(name)).toBeNull();
  });
});

describe('extracting own metrics', () => {
  it('keeps known metrics by component, counts unknown ones', () => {
    const r = extractOwnMetrics(
      request([
        { name: 'otelcol_receiver_accepted_spans', value: 10, attrs: { receiver: 'otlp', transport: 'grpc' } },
        { name: 'otelcol_exporter_queue_size', value: 3, attrs: { exporter: 'otlphttp' }, gauge: true },
        { name: 'otelcol_process_uptime', value: 99 },
        { name: 'http.server.duration', value: 1 },
      ]),
      new Set(),
      INGEST_DEFAULTS.maxOwnMetricSeriesPerAgent,
    );
    expect(r.unknownMetrics).toBe(2);
    expect(r.overCapPoints).toBe(0);
    expect(r.samples).toEqual([
      { kind: 'receiver_accepted', component: 'otlp', signal: 'spans', timeMs: T0, value: 10 },
      { kind: 'exporter_queue_size', component: 'otlphttp', signal: '', timeMs: T0, value: 3 },
    ]);
  });

  it('drops and counts points of series beyond the cap, keeps those of known series', () => {
    const known = new Set<string>();
    const exporters = Array.from({ length: 5 }, (_, i) => ({ name: 'otelcol_exporter_sent_spans', value: i, attrs: { exporter: `e${i}` } }));
    const first = extractOwnMetrics(request(exporters), known, 3);
    expect(first.samples.map((s) => s.component)).toEqual(['e0', 'e1', 'e2']);
    expect(first.overCapPoints).toBe(2);
    const second = extractOwnMetrics(request([...exporters].reverse()), known, 3);
    expect(second.samples.map((s) => s.component)).toEqual(['e2', 'e1', 'e0']);
    expect(second.overCapPoints).toBe(2);
  });
});

describe('the two namings of one Collector', () => {
  // What a Collector before and after the SDK move reports for the same pipeline (traces: otlp -> batch -> otlphttp).
  const older = request([
    { name: 'otelcol_receiver_accepted_spans', value: 100, attrs: { receiver: 'otlp', transport: 'grpc' } },
    { name: 'otelcol_processor_dropped_spans', value: 3, attrs: { processor: 'batch' } },
    { name: 'otelcol_exporter_sent_spans', value: 90, attrs: { exporter: 'otlphttp' } },
    { name: 'otelcol_exporter_queue_size', value: 4, attrs: { exporter: 'otlphttp' }, gauge: true },
    { name: 'otelcol_process_memory_rss', value: 5e7, gauge: true },
  ]);
  const newer = request([
    { name: 'otelcol_receiver_accepted_spans_total', value: 100, attrs: { receiver: 'otlp', transport: 'grpc' } },
    { name: 'otelcol_processor_incoming_items', value: 100, attrs: { processor: 'batch', 'otel.signal': 'traces' } },
    { name: 'otelcol_processor_outgoing_items', value: 97, attrs: { processor: 'batch', 'otel.signal': 'traces' } },
    { name: 'otelcol_exporter_sent_spans_total', value: 90, attrs: { exporter: 'otlphttp' } },
    { name: 'otelcol_exporter_queue_size', value: 4, attrs: { exporter: 'otlphttp', data_type: 'traces' }, gauge: true },
    { name: 'otelcol_exporter_queue_size', value: 1, attrs: { exporter: 'otlphttp', data_type: 'logs' }, gauge: true },
    { name: 'otelcol_process_memory_rss_bytes', value: 5e7, gauge: true },
  ]);
  const keys = (r: OtlpMetricsLike) => extractOwnMetrics(r, new Set(), 100).samples.map((x) => `${x.kind}|${x.component}|${x.signal}=${x.value}`);

  it('older: the per-signal counters of processors, queues without a signal', () => {
    expect(keys(older)).toEqual([
      'receiver_accepted|otlp|spans=100',
      'processor_dropped|batch|spans=3',
      'exporter_sent|otlphttp|spans=90',
      'exporter_queue_size|otlphttp|=4',
      'process_memory_rss||=50000000',
    ]);
  });

  it("newer: processors' items in and out and the queues each of its signal, from their attributes", () => {
    expect(keys(newer)).toEqual([
      'receiver_accepted|otlp|spans=100',
      'processor_incoming|batch|spans=100',
      'processor_outgoing|batch|spans=97',
      'exporter_sent|otlphttp|spans=90',
      'exporter_queue_size|otlphttp|spans=4',
      'exporter_queue_size|otlphttp|log_records=1',
      'process_memory_rss||=50000000',
    ]);
  });
});

describe('counter rates', () => {
  it('is the increase per second', () => {
    expect(counterRate({ timeMs: T0, value: 100 }, { timeMs: T0 + 10_000, value: 150 })).toBe(5);
  });
  it('after a restart counts from zero', () => {
    expect(counterRate({ timeMs: T0, value: 1000 }, { timeMs: T0 + 10_000, value: 20 })).toBe(2);
  });
  it('has none without an earlier reading or time moving on', () => {
    expect(counterRate(undefined, { timeMs: T0, value: 1 })).toBeNull();
    expect(counterRate({ timeMs: T0, value: 1 }, { timeMs: T0, value: 2 })).toBeNull();
  });
});

describe('rollups', () => {
  it('averages and maximises per series and 5-minute bucket', () => {
    const p = (offsetMs: number, value: number, component = 'otlp'): OwnMetricSample => ({ kind: 'exporter_sent', component, signal: 'spans', timeMs: T0 + offsetMs, value });
    const r = rollupOwnPoints([p(0, 2), p(10_000, 4), p(290_000, 9), p(300_000, 1), p(0, 7, 'other')]);
    expect(r).toEqual([
      { kind: 'exporter_sent', component: 'otlp', signal: 'spans', bucketMs: T0, avg: 5, max: 9, count: 3 },
      { kind: 'exporter_sent', component: 'otlp', signal: 'spans', bucketMs: T0 + 300_000, avg: 1, max: 1, count: 1 },
      { kind: 'exporter_sent', component: 'other', signal: 'spans', bucketMs: T0, avg: 7, max: 7, count: 1 },
    ]);
  });
});
