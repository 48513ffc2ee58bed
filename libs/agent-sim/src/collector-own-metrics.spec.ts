import { opentelemetry } from '@opamp/protocol';
import { CollectorOwnMetrics, type OwnMetricNaming } from './collector-own-metrics';
import { configContains } from './own-metrics.runner';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);

/** A seeded generator: the same run every time. */
function rng(seed = 7): () => number {
  let s = seed;
  return () => ((s = (s * 48271) % 2147483647) / 2147483647);
}

/** The request as the receiver sees it: encoded with the generated code, decoded again. */
function sent(model: CollectorOwnMetrics, naming: OwnMetricNaming, atMs: number) {
  const T = opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
  const decoded = T.decode(T.encode(model.request(naming, atMs, 'uid')).finish());
  const out = new Map<string, number>();
  for (const m of decoded.resourceMetrics[0]?.scopeMetrics?.[0]?.metrics ?? []) {
    for (const p of m.sum?.dataPoints ?? m.gauge?.dataPoints ?? []) {
      const attrs = (p.attributes ?? []).map((a) => `${a.key}=${a.value?.stringValue}`).join(',');
      out.set(`${m.name}{${attrs}}`, p.asDouble || Number(p.asInt));
    }
  }
  return out;
}

describe("a simulated Collector's own metrics", () => {
  it('older naming: per-signal processor drops, queues by exporter only', () => {
    const m = new CollectorOwnMetrics(T0, { rng: rng() });
    m.advance(10);
    const names = [...sent(m, 'older', T0 + 10_000).keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        'otelcol_receiver_accepted_spans{receiver=otlp,transport=grpc}',
        'otelcol_receiver_refused_metric_points{receiver=otlp,transport=grpc}',
        'otelcol_processor_dropped_spans{processor=batch}',
        'otelcol_exporter_sent_spans{exporter=otlphttp}',
        'otelcol_exporter_send_failed_metric_points{exporter=otlphttp}',
        'otelcol_exporter_queue_size{exporter=otlphttp}',
        'otelcol_exporter_queue_capacity{exporter=otlphttp}',
        'otelcol_process_cpu_seconds{}',
        'otelcol_process_memory_rss{}',
      ]),
    );
    expect(names.some((n) => n.includes('incoming_items') || n.includes('data_type'))).toBe(false);
  });

  it('newer naming: processors items in and out with otel.signal, queues per data_type', () => {
    const m = new CollectorOwnMetrics(T0, { rng: rng() });
    m.advance(10);
    const names = [...sent(m, 'newer', T0 + 10_000).keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        'otelcol_receiver_accepted_spans{receiver=otlp,transport=grpc}',
        'otelcol_processor_incoming_items{processor=batch,otel.signal=traces}',
        'otelcol_processor_outgoing_items{processor=batch,otel.signal=metrics}',
        'otelcol_exporter_queue_size{exporter=otlphttp,data_type=traces}',
        'otelcol_exporter_queue_size{exporter=otlphttp,data_type=metrics}',
      ]),
    );
    expect(names.some((n) => n.startsWith('otelcol_processor_dropped'))).toBe(false);
  });

  it('grows accepted and sent as counters, with a few refused and failed, and CPU seconds', () => {
    const m = new CollectorOwnMetrics(T0, { rng: rng(), itemsPerSecond: 100, sendFailureRate: 0.05 });
    m.advance(10);
    const first = sent(m, 'older', T0 + 10_000);
    m.advance(10);
    const second = sent(m, 'older', T0 + 20_000);
    const v = (map: Map<string, number>, name: string) => map.get(name) ?? NaN;
    const accepted = 'otelcol_receiver_accepted_spans{receiver=otlp,transport=grpc}';
    const sentSpans = 'otelcol_exporter_sent_spans{exporter=otlphttp}';
    const failed = 'otelcol_exporter_send_failed_spans{exporter=otlphttp}';
    const grown = v(second, accepted) - v(first, accepted);
    // 100/s around the agent's own rate (0.5x..1.5x), 10 s, +-20 %.
    expect(grown).toBeGreaterThan(0.5 * 100 * 10 * 0.8 - 1);
    expect(grown).toBeLessThan(1.5 * 100 * 10 * 1.2 + 1);
    expect(v(second, sentSpans)).toBeGreaterThan(v(first, sentSpans));
    expect(v(second, failed)).toBeGreaterThan(0);
    expect(v(second, sentSpans) + v(second, failed)).toBeLessThanOrEqual(v(second, accepted));
    expect(v(second, 'otelcol_process_cpu_seconds{}')).toBeGreaterThan(v(first, 'otelcol_process_cpu_seconds{}'));
    expect(v(second, 'otelcol_process_memory_rss{}')).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('fails most exports once its failure rate is raised (a configuration that breaks the exporter), and recovers', () => {
    const m = new CollectorOwnMetrics(T0, { rng: rng(), itemsPerSecond: 100, sendFailureRate: 0.01 });
    const sentSpans = 'otelcol_exporter_sent_spans{exporter=otlphttp}';
    const failed = 'otelcol_exporter_send_failed_spans{exporter=otlphttp}';
    const step = (atMs: number) => {
      m.advance(10);
      return sent(m, 'newer', atMs);
    };
    const healthy = step(T0 + 10_000);
    m.setSendFailureRate(0.9);
    const broken = step(T0 + 20_000);
    const share = (a: Map<string, number>, b: Map<string, number>) => {
      const f = (b.get(failed) ?? 0) - (a.get(failed) ?? 0);
      const s2 = (b.get(sentSpans) ?? 0) - (a.get(sentSpans) ?? 0);
      return f / (f + s2);
    };
    expect(share(new Map(), healthy)).toBeLessThan(0.05);
    expect(share(healthy, broken)).toBeGreaterThan(0.75);
    expect(share(healthy, broken)).toBeLessThanOrEqual(1);
    m.setSendFailureRate(0.01);
    expect(share(broken, step(T0 + 30_000))).toBeLessThan(0.05);
  });

  it('tells whether the configuration an agent runs contains a text', () => {
    const config = { configMap: { 'a.yaml': { body: Buffer.from('exporters: {otlphttp: {}}') }, 'b.yaml': { body: Buffer.from('# exporter: unreachable') } } };
    expect(configContains(config, 'exporter: unreachable')).toBe(true);
    expect(configContains(config, 'nothing like it')).toBe(false);
    expect(configContains(undefined, 'x')).toBe(false);
  });
});
