/**
 * Agents' own metrics (issue 19 item 3), pure: which of a Collector's
 * internal metrics this server keeps, as a small fixed set of series kinds,
 * and the arithmetic on them (counters into rates, 5-minute rollups).
 *
 * The Collector has named its metrics two ways (checked against its
 * generated documentation.md of exporterhelper, receiverhelper,
 * processorhelper and service). The older OpenCensus names
 * (`otelcol_receiver_accepted_spans`, `otelcol_process_cpu_seconds`,
 * `otelcol_processor_dropped_spans`) are, since its telemetry moved to the
 * OpenTelemetry SDK, the same instrument names over OTLP; its Prometheus
 * endpoint adds `_total` to counters and the unit to some gauges
 * (`otelcol_exporter_sent_spans_total`, `otelcol_process_memory_rss_bytes`).
 * What changed is the processors: processorhelper (v0.110) dropped the
 * per-signal accepted/refused/dropped counters for
 * `otelcol_processor_incoming_items` / `_outgoing_items` with the signal in
 * the `otel.signal` attribute (what a processor dropped is incoming minus
 * outgoing), and exporters' queue gauges carry their signal in `data_type`.
 * Dots are read as underscores (the development `otelcol.*.items` metrics
 * are dotted). All of them normalise to one key; anything else is an
 * unknown metric: dropped, counted.
 */

export const OWN_METRIC_KINDS = [
  'process_cpu_seconds',
  'process_memory_rss',
  'receiver_accepted',
  'receiver_refused',
  'exporter_sent',
  'exporter_send_failed',
  'exporter_queue_size',
  'exporter_queue_capacity',
  'processor_dropped',
  'processor_refused',
  'processor_incoming',
  'processor_outgoing',
] as const;
export type OwnMetricKind = (typeof OWN_METRIC_KINDS)[number];

/** Counters are cumulative at the agent: kept as per-second rates. Gauges are kept as read. */
export const OWN_METRIC_COUNTERS: ReadonlySet<OwnMetricKind> = new Set<OwnMetricKind>([
  'process_cpu_seconds',
  'receiver_accepted',
  'receiver_refused',
  'exporter_sent',
  'exporter_send_failed',
  'processor_dropped',
  'processor_refused',
  'processor_incoming',
  'processor_outgoing',
]);

export type OwnMetricSignal = 'spans' | 'metric_points' | 'log_records' | '';

export interface OwnMetricName {
  kind: OwnMetricKind;
  /** Which telemetry the item counts are of ('' for process and queue metrics). */
  signal: OwnMetricSignal;
  /** The attribute naming the component (receiver, exporter, processor), or null. */
  componentAttribute: 'receiver' | 'exporter' | 'processor' | null;
  /** The attribute naming the signal when the name does not ('data_type' of queues, 'otel.signal' of processors' items), or null. */
  signalAttribute: 'data_type' | 'otel.signal' | null;
}

const ITEMS = '(spans|metric_points|log_records)';
const RULES: { re: RegExp; kind: (m: RegExpMatchArray) => OwnMetricKind; component: OwnMetricName['componentAttribute']; signalAttribute?: OwnMetricName['signalAttribute'] }[] = [
  { re: /^process_cpu_seconds$/, kind: () => 'process_cpu_seconds', component: null },
  { re: /^process_memory_rss(_bytes)?$/, kind: () => 'process_memory_rss', component: null },
  { re: new RegExp(`^receiver_(accepted|refused)_${ITEMS}$`), kind: (m) => `receiver_${m[1]}` as OwnMetricKind, component: 'receiver' },
  { re: new RegExp(`^exporter_(sent|send_failed)_${ITEMS}$`), kind: (m) => `exporter_${m[1]}` as OwnMetricKind, component: 'exporter' },
  { re: /^exporter_queue_(size|capacity)$/, kind: (m) => `exporter_queue_${m[1]}` as OwnMetricKind, component: 'exporter', signalAttribute: 'data_type' },
  { re: new RegExp(`^processor_(dropped|refused)_${ITEMS}$`), kind: (m) => `processor_${m[1]}` as OwnMetricKind, component: 'processor' },
  { re: /^processor_(incoming|outgoing)_items$/, kind: (m) => `processor_${m[1]}` as OwnMetricKind, component: 'processor', signalAttribute: 'otel.signal' },
];

/** A pipeline signal as the Collector's attributes name it, as the item names of the older metrics do. */
const SIGNAL_OF_ATTRIBUTE: Readonly<Record<string, OwnMetricSignal>> = { traces: 'spans', metrics: 'metric_points', logs: 'log_records' };

/** The series kind a metric name stands for, in either naming; null for a metric this server does not keep. */
export function ownMetricName(name: string): OwnMetricName | null {
  let n = name.toLowerCase().replace(/\./g, '_');
  if (!n.startsWith('otelcol_')) return null;
  n = n.slice('otelcol_'.length);
  if (n.endsWith('_total')) n = n.slice(0, -'_total'.length);
  for (const rule of RULES) {
    const m = n.match(rule.re);
    if (!m) continue;
    return { kind: rule.kind(m), signal: (m[2] ?? '') as OwnMetricSignal, componentAttribute: rule.component, signalAttribute: rule.signalAttribute ?? null };
  }
  return null;
}

/** One series of one agent: its kind, the component it is of ('' for the process) and the signal. */
export interface OwnSeriesKey {
  kind: OwnMetricKind;
  component: string;
  signal: OwnMetricSignal;
}

export function ownSeriesId(k: OwnSeriesKey): string {
  return `${k.kind}|${k.component}|${k.signal}`;
}

export interface OwnMetricSample extends OwnSeriesKey {
  timeMs: number;
  value: number;
}

/** Attributes as the OTLP definitions give them (only string values matter here). */
interface OtlpAttribute {
  key?: string | null;
  value?: { stringValue?: string | null } | null;
}
interface OtlpNumberPoint {
  timeUnixNano?: number | string | { toString(): string } | null;
  asDouble?: number | null;
  asInt?: number | string | { toString(): string } | null;
  attributes?: OtlpAttribute[] | null;
}
interface OtlpMetric {
  name?: string | null;
  sum?: { dataPoints?: OtlpNumberPoint[] | null } | null;
  gauge?: { dataPoints?: OtlpNumberPoint[] | null } | null;
}
/** The shape of an ExportMetricsServiceRequest this reads (the generated type fits it). */
export interface OtlpMetricsLike {
  resourceMetrics?: { scopeMetrics?: { metrics?: OtlpMetric[] | null }[] | null }[] | null;
}

export interface OwnMetricExtract {
  samples: OwnMetricSample[];
  /** Metrics (not points) whose names are not kept. */
  unknownMetrics: number;
  /** Points of series beyond the agent's cap. */
  overCapPoints: number;
}

/**
 * The kept samples of one agent's request. `knownSeries` is the agent's
 * series so far (grown here, up to `maxSeries`): a point of a new series
 * past the cap is dropped and counted, so a Collector with a thousand
 * exporters costs no more than `maxSeries` rows per interval.
 */
export function extractOwnMetrics(request: OtlpMetricsLike, knownSeries: Set<string>, maxSeries: number): OwnMetricExtract {
  const out: OwnMetricExtract = { samples: [], unknownMetrics: 0, overCapPoints: 0 };
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const name = ownMetricName(metric.name ?? '');
        if (!name) {
          out.unknownMetrics++;
          continue;
        }
        const points = metric.sum?.dataPoints ?? metric.gauge?.dataPoints ?? [];
        for (const p of points) {
          const value = p.asDouble ?? (p.asInt != null ? Number(String(p.asInt)) : NaN);
          const timeMs = Math.floor(Number(String(p.timeUnixNano ?? 0)) / 1e6);
          if (!Number.isFinite(value) || !(timeMs > 0)) continue;
          const component = name.componentAttribute ? componentOf(p.attributes ?? [], name.componentAttribute) : '';
          const signal = name.signalAttribute ? (SIGNAL_OF_ATTRIBUTE[stringAttribute(p.attributes ?? [], name.signalAttribute)] ?? '') : name.signal;
          const key: OwnSeriesKey = { kind: name.kind, component, signal };
          const id = ownSeriesId(key);
          if (!knownSeries.has(id)) {
            if (knownSeries.size >= maxSeries) {
              out.overCapPoints++;
              continue;
            }
            knownSeries.add(id);
          }
          out.samples.push({ ...key, timeMs, value });
        }
      }
    }
  }
  return out;
}

/** Longest component name kept (an agent's data: bounded, never structure). */
const MAX_COMPONENT_CHARS = 128;

function stringAttribute(attributes: OtlpAttribute[], key: string): string {
  return attributes.find((a) => a.key === key)?.value?.stringValue ?? '';
}

function componentOf(attributes: OtlpAttribute[], key: string): string {
  return stringAttribute(attributes, key).slice(0, MAX_COMPONENT_CHARS);
}

/**
 * A counter's per-second rate between two cumulative readings; null when
 * there is none (no earlier reading, time not moving on). A reading below
 * the previous one is a restart of the Collector: the counter began at zero,
 * so the new value itself is what it counted since.
 */
export function counterRate(previous: { timeMs: number; value: number } | undefined, current: { timeMs: number; value: number }): number | null {
  if (!previous || current.timeMs <= previous.timeMs) return null;
  const delta = current.value >= previous.value ? current.value - previous.value : current.value;
  return delta / ((current.timeMs - previous.timeMs) / 1000);
}

export const OWN_METRIC_STEP_MS = 10_000;
export const OWN_METRIC_ROLLUP_MS = 300_000;

export interface OwnRollup extends OwnSeriesKey {
  bucketMs: number;
  avg: number;
  max: number;
  count: number;
}

/** Points (rates or gauge values) summed into buckets of `bucketMs`: average and maximum per series and bucket. */
export function rollupOwnPoints(points: readonly OwnMetricSample[], bucketMs = OWN_METRIC_ROLLUP_MS): OwnRollup[] {
  const acc = new Map<string, OwnRollup & { sum: number }>();
  for (const p of points) {
    const bucket = Math.floor(p.timeMs / bucketMs) * bucketMs;
    const id = `${ownSeriesId(p)}|${bucket}`;
    const r = acc.get(id);
    if (!r) acc.set(id, { kind: p.kind, component: p.component, signal: p.signal, bucketMs: bucket, sum: p.value, avg: p.value, max: p.value, count: 1 });
    else {
      r.sum += p.value;
      r.count++;
      r.max = Math.max(r.max, p.value);
      r.avg = r.sum / r.count;
    }
  }
  return [...acc.values()].map(({ sum: _sum, ...r }) => r);
}
