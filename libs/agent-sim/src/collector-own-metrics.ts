/**
 * A simulated Collector's own metrics (issue 19 item 3), pure: cumulative
 * counters of a traces and a metrics pipeline (otlp receiver -> batch
 * processor -> otlphttp exporter) that grow each tick with a little noise
 * (accepted and sent grow, a few refused and send failures), queue sizes,
 * CPU seconds and RSS; and the OTLP ExportMetricsServiceRequest a Collector
 * would send of them, in either of the Collector's namings:
 *  - 'older': the OpenCensus-era names, processors' per-signal
 *    otelcol_processor_dropped_<items>, queue gauges with only `exporter`;
 *  - 'newer': what the SDK-based Collector (v0.110+) sends over OTLP: the same
 *    receiver/exporter names, processors' otelcol_processor_incoming_items /
 *    _outgoing_items with `otel.signal`, queue gauges with `data_type`.
 * Built with the generated OTLP types the receiver decodes with.
 */
import { opentelemetry } from '@opamp/protocol';
import type { Rng } from './backoff';

export type OwnMetricNaming = 'older' | 'newer';

type Pb = typeof opentelemetry.proto;
type Metric = opentelemetry.proto.metrics.v1.IMetric;
type KeyValue = opentelemetry.proto.common.v1.IKeyValue;

const PIPELINES = [
  { signal: 'traces', items: 'spans' },
  { signal: 'metrics', items: 'metric_points' },
] as const;

interface PipelineCounters {
  accepted: number;
  refused: number;
  /** Into and out of the batch processor (dropped = in - out). */
  processorIn: number;
  processorOut: number;
  sent: number;
  sendFailed: number;
  queueSize: number;
}

export interface CollectorOwnMetricsOptions {
  /** Items per second per pipeline, around which throughput wanders (default 200). */
  itemsPerSecond?: number;
  /** Share of items that fail to export (default 0.01). */
  sendFailureRate?: number;
  rng?: Rng;
}

const QUEUE_CAPACITY = 1000;
const RSS_BASE = 60 * 1024 * 1024;

export class CollectorOwnMetrics {
  private readonly pipelines: PipelineCounters[] = PIPELINES.map(() => ({ accepted: 0, refused: 0, processorIn: 0, processorOut: 0, sent: 0, sendFailed: 0, queueSize: 0 }));
  private cpuSeconds = 0;
  private rss = RSS_BASE;
  private readonly rate: number;
  private failureRate: number;
  private readonly rng: Rng;

  constructor(
    private readonly startMs: number,
    options: CollectorOwnMetricsOptions = {},
  ) {
    this.rng = options.rng ?? Math.random;
    this.rate = (options.itemsPerSecond ?? 200) * (0.5 + this.rng());
    this.failureRate = options.sendFailureRate ?? 0.01;
  }

  /** The share of items the exporter fails from now on (as when its configuration changes). */
  setSendFailureRate(rate: number): void {
    this.failureRate = Math.min(1, Math.max(0, rate));
  }

  /** Moves the counters on by `seconds` of work. */
  advance(seconds: number): void {
    for (const p of this.pipelines) {
      const incoming = Math.round(this.rate * seconds * (0.8 + 0.4 * this.rng()));
      const refused = Math.round(incoming * 0.002 * this.rng());
      const accepted = incoming - refused;
      const dropped = Math.round(accepted * 0.001 * this.rng());
      const out = accepted - dropped;
      // Around the failure rate (at most all of them): a little noise, as a real exporter's retries give.
      const failed = Math.min(out, Math.round(out * this.failureRate * (this.failureRate > 0.5 ? 0.9 + 0.2 * this.rng() : 2 * this.rng())));
      p.accepted += accepted;
      p.refused += refused;
      p.processorIn += accepted;
      p.processorOut += out;
      p.sent += out - failed;
      p.sendFailed += failed;
      p.queueSize = Math.floor(this.rng() * 20);
    }
    this.cpuSeconds += seconds * (0.05 + 0.25 * this.rng());
    this.rss = Math.max(RSS_BASE / 2, this.rss + Math.round((this.rng() - 0.5) * 2 * 1024 * 1024));
  }

  /** The Collector's export of its metrics as they stand at `nowMs`. */
  request(naming: OwnMetricNaming, nowMs: number, instanceId: string): opentelemetry.proto.collector.metrics.v1.IExportMetricsServiceRequest {
    const start = nanos(this.startMs);
    const now = nanos(nowMs);
    const attrs = (o: Record<string, string>): KeyValue[] => Object.entries(o).map(([key, stringValue]) => ({ key, value: { stringValue } }));
    const counter = (name: string, value: number, a: Record<string, string>, unit = ''): Metric => ({
      name,
      unit,
      sum: {
        aggregationTemporality: pb().metrics.v1.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
        isMonotonic: true,
        dataPoints: [{ startTimeUnixNano: start, timeUnixNano: now, ...(Number.isInteger(value) ? { asInt: value } : { asDouble: value }), attributes: attrs(a) }],
      },
    });
    const gauge = (name: string, value: number, a: Record<string, string>, unit = ''): Metric => ({ name, unit, gauge: { dataPoints: [{ timeUnixNano: now, asInt: value, attributes: attrs(a) }] } });
    const metrics: Metric[] = [counter('otelcol_process_cpu_seconds', this.cpuSeconds, {}, 's'), gauge('otelcol_process_memory_rss', this.rss, {}, 'By')];
    PIPELINES.forEach(({ signal, items }, i) => {
      const p = this.pipelines[i];
      const receiver = { receiver: 'otlp', transport: 'grpc' };
      const exporter = { exporter: 'otlphttp' };
      metrics.push(counter(`otelcol_receiver_accepted_${items}`, p.accepted, receiver), counter(`otelcol_receiver_refused_${items}`, p.refused, receiver));
      if (naming === 'older') {
        metrics.push(counter(`otelcol_processor_dropped_${items}`, p.processorIn - p.processorOut, { processor: 'batch' }));
      } else {
        const processor = { processor: 'batch', 'otel.signal': signal };
        metrics.push(counter('otelcol_processor_incoming_items', p.processorIn, processor), counter('otelcol_processor_outgoing_items', p.processorOut, processor));
      }
      metrics.push(counter(`otelcol_exporter_sent_${items}`, p.sent, exporter), counter(`otelcol_exporter_send_failed_${items}`, p.sendFailed, exporter));
      // The older queue gauges name only the exporter: one series for the exporter of both pipelines.
      if (naming === 'newer' || i === 0) {
        const queue = naming === 'newer' ? { ...exporter, data_type: signal } : exporter;
        metrics.push(gauge('otelcol_exporter_queue_size', p.queueSize, queue), gauge('otelcol_exporter_queue_capacity', QUEUE_CAPACITY, queue));
      }
    });
    return {
      resourceMetrics: [
        {
          resource: { attributes: attrs({ 'service.name': 'otelcol-contrib', 'service.instance.id': instanceId }) },
          scopeMetrics: [{ scope: { name: 'go.opentelemetry.io/collector/service' }, metrics }],
        },
      ],
    };
  }
}

function pb(): Pb {
  return opentelemetry.proto;
}

/** Unix nanoseconds as the generated code types 64-bit values (a double: exact to the microsecond, enough here). */
function nanos(ms: number): number {
  return Math.floor(ms) * 1_000_000;
}
