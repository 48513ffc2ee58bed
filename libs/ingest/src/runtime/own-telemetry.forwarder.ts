/**
 * Forwards agents' own telemetry as received (issue 19 item 3): each
 * AgentTelemetry record's OTLP request, already bound to its agent by the
 * receiver, POSTed unchanged (protobuf) to `<endpoint>/v1/<signal>` of an
 * external OTLP/HTTP endpoint when one is configured. Best effort: a failure
 * is counted and never holds up the store (the consumer commits on).
 */
import { fleet } from '@opamp/contracts';
import type { AgentTelemetryConsumer } from './own-telemetry.consumer';

const PATHS: Partial<Record<fleet.v1.AgentTelemetrySignal, string>> = {
  [fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS]: 'metrics',
  [fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_TRACES]: 'traces',
  [fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_LOGS]: 'logs',
};

export interface OwnTelemetryForwarderTotals {
  forwarded: number;
  failed: number;
}

export class OwnTelemetryForwarder implements AgentTelemetryConsumer {
  readonly totals: OwnTelemetryForwarderTotals = { forwarded: 0, failed: 0 };
  private readonly base: string;

  constructor(
    endpoint: string,
    private readonly options: { headers?: Readonly<Record<string, string>>; timeoutMs?: number } = {},
  ) {
    this.base = endpoint.replace(/\/+$/, '');
  }

  async consume(records: readonly fleet.v1.IAgentTelemetry[]): Promise<void> {
    await Promise.all(records.map((r) => this.forward(r)));
  }

  private async forward(r: fleet.v1.IAgentTelemetry): Promise<void> {
    const path = r.signal != null ? PATHS[r.signal] : undefined;
    if (!path || !r.otlpRequest || r.otlpRequest.length === 0) return;
    try {
      const res = await fetch(`${this.base}/v1/${path}`, {
        method: 'POST',
        headers: { ...this.options.headers, 'content-type': 'application/x-protobuf' },
        body: r.otlpRequest,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
      await res.arrayBuffer();
      if (res.ok) this.totals.forwarded++;
      else this.totals.failed++;
    } catch {
      this.totals.failed++;
    }
  }
}
