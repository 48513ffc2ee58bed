/**
 * Owns a simulated agent's own-metrics emission (profile ownMetrics, with
 * ReportsOwnMetrics): once the server offers an own_metrics destination, the
 * agent POSTs its Collector-like metrics (collector-own-metrics.ts) there as
 * OTLP/HTTP protobuf, gzip'd like the Collector's otlphttp exporter, with the
 * offered headers, at once and then every interval, until it stops. A later
 * offer replaces the destination. Failed posts are counted, never retried:
 * the next interval sends the counters as they are then.
 */
import { gzipSync } from 'node:zlib';
import { instanceUidToString, opamp, opentelemetry } from '@opamp/protocol';
import type { Rng } from './backoff';
import { CollectorOwnMetrics, type OwnMetricNaming } from './collector-own-metrics';

export interface OwnMetricsSettings {
  /** How often metrics are sent (the Collector's periodic reader interval). */
  readonly intervalMs: number;
  readonly naming: OwnMetricNaming;
  /** Share of items the simulated exporter fails to send (default 0.01). */
  readonly sendFailureRate?: number;
  /**
   * While the agent runs a configuration (its effective config) whose files
   * contain `whenConfigContains`, the exporter fails `sendFailureRate` of the
   * items instead (default 0.9): what a new version with a wrong exporter
   * endpoint or credential does. Back on another configuration, it recovers.
   */
  readonly failingExport?: { readonly whenConfigContains: string; readonly sendFailureRate: number };
}

/** Whether any file of a configuration contains `text`. */
export function configContains(config: opamp.proto.v1.IAgentConfigMap | undefined, text: string): boolean {
  return Object.values(config?.configMap ?? {}).some((f) => Buffer.from(f.body ?? []).toString('utf8').includes(text));
}

export const DEFAULT_OWN_METRICS_INTERVAL_MS = 10_000;

export interface OwnMetricsTotals {
  /** Requests the destination answered 2xx. */
  sent: number;
  /** Requests refused (non-2xx) or not answered. */
  failed: number;
  lastStatus: number;
}

interface Destination {
  url: string;
  headers: Record<string, string>;
}

export class OwnMetricsRunner {
  readonly totals: OwnMetricsTotals = { sent: 0, failed: 0, lastStatus: 0 };
  private readonly model: CollectorOwnMetrics;
  private destination: Destination | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private lastTickMs: number;

  constructor(
    private readonly settings: OwnMetricsSettings,
    private readonly instanceUid: () => Buffer,
    rng: Rng,
    private readonly clock: () => number = Date.now,
    /** The configuration the agent runs now (its effective config). */
    private readonly running: () => opamp.proto.v1.IAgentConfigMap | undefined = () => undefined,
  ) {
    this.lastTickMs = this.clock();
    this.model = new CollectorOwnMetrics(this.lastTickMs, { rng, sendFailureRate: settings.sendFailureRate });
  }

  /** An own_metrics offer: send there from now on (an offer without an endpoint is ignored). */
  offer(settings: opamp.proto.v1.ITelemetryConnectionSettings): void {
    const url = settings.destinationEndpoint ?? '';
    if (!url) return;
    const headers: Record<string, string> = {};
    for (const h of settings.headers?.headers ?? []) if (h.key) headers[h.key] = h.value ?? '';
    this.destination = { url, headers };
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
      this.timer.unref();
      this.tick();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private tick(): void {
    const now = this.clock();
    const failing = this.settings.failingExport;
    if (failing) {
      this.model.setSendFailureRate(configContains(this.running(), failing.whenConfigContains) ? failing.sendFailureRate : (this.settings.sendFailureRate ?? 0.01));
    }
    this.model.advance(Math.max(0, now - this.lastTickMs) / 1000);
    this.lastTickMs = now;
    const destination = this.destination;
    if (!destination) return;
    const request = this.model.request(this.settings.naming, now, instanceUidToString(this.instanceUid()));
    const body = gzipSync(opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode(request).finish());
    // One post at a time: a slow destination skips intervals rather than piling requests up.
    this.inFlight = this.inFlight.then(() => this.post(destination, body));
  }

  private async post(d: Destination, body: Buffer): Promise<void> {
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { ...d.headers, 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
        body,
        signal: AbortSignal.timeout(this.settings.intervalMs),
      });
      await res.arrayBuffer();
      this.totals.lastStatus = res.status;
      if (res.ok) this.totals.sent++;
      else this.totals.failed++;
    } catch {
      this.totals.lastStatus = 0;
      this.totals.failed++;
    }
  }
}
