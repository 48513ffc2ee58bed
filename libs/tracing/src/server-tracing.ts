/**
 * This server's own traces (issue 21): one OpenTelemetry tracer provider per
 * process, exported over OTLP/HTTP (protobuf) in batches, and spans started
 * only where work is sampled. The provider is not registered globally and no
 * context manager is installed: the context is passed by hand (envelopes carry
 * a traceparent), so the hot path pays nothing for async-hook bookkeeping,
 * and a message that is not sampled costs one random number at the gateway
 * and nothing downstream.
 *
 * Sampling: agent traffic at `sampleRatio` (decided once, where a trace
 * starts), at most `maxTracesPerSecond` new traces per second and process
 * (a ratio of 1 at 27,000 messages/s took a gateway's whole core: bench
 * results ingest-throughput-traced-1.json); API mutations and errors always
 * (`startForced`).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { formatTraceParent, parseTraceParent } from './trace-parent';

export interface TracingSettings {
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
  endpoint: string;
  /** Share of agent traffic traced, 0..1. */
  sampleRatio: number;
  /** Extra request headers of the export (an API key); never logged. */
  headers?: Record<string, string>;
  /** New sampled traces per second at most (default TRACING_DEFAULTS'). */
  maxTracesPerSecond?: number;
}

export const TRACING_DEFAULTS = Object.freeze({
  sampleRatio: 0.01,
  /** Bounds what tracing costs a process whatever the ratio: ~3 spans a trace. */
  maxTracesPerSecond: 100,
});

export interface TracingIdentity {
  /** `service.name`: the app (gateway, status-ingest, config-service, fleet-server). */
  serviceName: string;
  /** `service.instance.id`: the replica (a gateway id, a host name). */
  instanceId?: string;
}

export type SpanRole = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

const KINDS: Record<SpanRole, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** One unit of traced work; `traceParent` is what the next process continues from. */
export class TraceSpan {
  readonly traceParent: string;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {
    const c = span.spanContext();
    this.traceParent = formatTraceParent({ traceId: c.traceId, spanId: c.spanId });
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  /** A span inside this one (same process). */
  child(name: string, attributes?: Attributes, role: SpanRole = 'internal'): TraceSpan {
    const parent = trace.setSpan(ROOT_CONTEXT, this.span);
    return new TraceSpan(this.tracer, this.tracer.startSpan(name, { kind: KINDS[role], attributes }, parent));
  }

  setAttributes(attributes: Attributes): this {
    this.span.setAttributes(attributes);
    return this;
  }

  /** Marks the span failed; the message only, never the error's other properties (they may hold secrets). */
  fail(error: unknown): this {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    return this;
  }

  end(): void {
    this.span.end();
  }
}

export class ServerTracing {
  /** Tracing off: every start returns null, at the cost of one comparison. */
  static readonly off = new ServerTracing(null, 0);

  /** Traces the sample chose but the per-second bound left out. */
  capped = 0;
  private windowStartMs = 0;
  private startedInWindow = 0;

  private constructor(
    private readonly provider: { tracer: Tracer; shutdown: () => Promise<void>; flush: () => Promise<void> } | null,
    private readonly sampleRatio: number,
    private readonly random: () => number = Math.random,
    private readonly maxTracesPerSecond: number = TRACING_DEFAULTS.maxTracesPerSecond,
    private readonly now: () => number = Date.now,
  ) {}

  /** Exports over OTLP/HTTP to the settings' endpoint; null settings: off. */
  static start(settings: TracingSettings | null, identity: TracingIdentity): ServerTracing {
    if (!settings) return ServerTracing.off;
    const exporter = new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers ?? {}, timeoutMillis: 10_000 });
    return ServerTracing.withExporter(exporter, settings.sampleRatio, identity, { maxTracesPerSecond: settings.maxTracesPerSecond });
  }

  /** The same with any SDK exporter (tests read spans back from an in-memory one). */
  static withExporter(
    exporter: SpanExporter,
    sampleRatio: number,
    identity: TracingIdentity,
    o: { random?: () => number; maxTracesPerSecond?: number; now?: () => number } = {},
  ): ServerTracing {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': identity.serviceName,
        ...(identity.instanceId ? { 'service.instance.id': identity.instanceId } : {}),
      }),
      // Sampling is decided here before a span exists; the SDK records what it is given.
      sampler: new AlwaysOnSampler(),
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 4_096, maxExportBatchSize: 512, scheduledDelayMillis: 1_000 })],
    });
    return new ServerTracing(
      { tracer: provider.getTracer('opamp-fleet'), shutdown: () => provider.shutdown(), flush: () => provider.forceFlush() },
      Math.min(1, Math.max(0, sampleRatio)),
      o.random,
      o.maxTracesPerSecond ?? TRACING_DEFAULTS.maxTracesPerSecond,
      o.now,
    );
  }

  get enabled(): boolean {
    return this.provider !== null;
  }

  /** A new trace for agent traffic, at the sample ratio; null when off or not sampled (the common case). */
  startSampled(name: string, attributes?: Attributes, role: SpanRole = 'server'): TraceSpan | null {
    const provider = this.provider;
    if (!provider || this.sampleRatio === 0 || this.random() >= this.sampleRatio) return null;
    const now = this.now();
    if (now - this.windowStartMs >= 1_000) {
      this.windowStartMs = now;
      this.startedInWindow = 0;
    }
    if (++this.startedInWindow > this.maxTracesPerSecond) {
      this.capped++;
      return null;
    }
    return startRoot(provider.tracer, name, attributes, role);
  }

  /** A new trace whatever the ratio (API mutations, errors); null only when off. */
  startForced(name: string, attributes?: Attributes, role: SpanRole = 'server'): TraceSpan | null {
    return this.provider ? startRoot(this.provider.tracer, name, attributes, role) : null;
  }

  /** Continues the trace a traceparent names; null when off or when it names none (or nothing valid). */
  continueFrom(traceParent: string | null | undefined, name: string, attributes?: Attributes, role: SpanRole = 'consumer'): TraceSpan | null {
    if (!this.provider || !traceParent) return null;
    const parent = parseTraceParent(traceParent);
    if (!parent) return null;
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    return new TraceSpan(this.provider.tracer, this.provider.tracer.startSpan(name, { kind: KINDS[role], attributes }, ctx));
  }

  /** Exports what is queued (tests; a clean stop). */
  async flush(): Promise<void> {
    await this.provider?.flush();
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

function startRoot(tracer: Tracer, name: string, attributes: Attributes | undefined, role: SpanRole): TraceSpan {
  return new TraceSpan(tracer, tracer.startSpan(name, { kind: KINDS[role], attributes, root: true }, ROOT_CONTEXT));
}
