/**
 * An OTLP/HTTP traces receiver on loopback for tests of this server's own
 * traces: takes POST /v1/traces (protobuf or JSON, gzip or not), decodes it
 * with the generated OTLP code, and keeps every span flat, with the
 * `service.name` of its resource, for the test to read back.
 */
import type { OtlpRequest } from '@opamp/protocol';
import { OtlpExportReceiver } from './otlp-export.receiver';

export interface ReceivedSpan {
  readonly service: string;
  readonly name: string;
  /** Hex, as in a traceparent. */
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** 2: ERROR (OTLP status code). */
  readonly statusCode: number;
}

export interface AgentLoopTrace {
  readonly receive: ReceivedSpan;
  readonly apply: ReceivedSpan;
  readonly reconcile: ReceivedSpan;
  readonly deliver: ReceivedSpan;
  readonly answer: ReceivedSpan;
  readonly answerApplied: ReceivedSpan;
}

const hex = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('hex');

export class OtlpTraceReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server = new OtlpExportReceiver({ signals: ['traces'], onExport: (e) => this.take(e.request) });

  start(): Promise<void> {
    return this.server.start();
  }

  /** Where an app's OPAMP_TRACING_OTLP_ENDPOINT points. */
  get url(): string {
    return `${this.server.url}/v1/traces`;
  }

  /** Every span of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /**
   * The span of `name` (in `service` when given) whose parent is `parent`:
   * the next step of a trace.
   */
  childOf(parent: ReceivedSpan, name: string, service?: string): ReceivedSpan | undefined {
    return this.spans.find((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId && s.name === name && (!service || s.service === service));
  }

  /**
   * A configuration push to one agent traced from the agent's own message:
   * receive -> apply -> reconcile -> deliver -> the agent's answer (its next
   * receive) -> its apply; null until a trace holds all of it.
   */
  agentLoop(instanceUidHex: string): AgentLoopTrace | null {
    for (const deliver of this.spans.filter((s) => s.name === 'opamp.deliver' && s.attributes['opamp.instance_uid'] === instanceUidHex)) {
      const byId = new Map(this.trace(deliver.traceId).map((s) => [s.spanId, s]));
      const reconcile = byId.get(deliver.parentSpanId);
      const apply = reconcile && byId.get(reconcile.parentSpanId);
      const receive = apply && byId.get(apply.parentSpanId);
      const answer = this.childOf(deliver, 'opamp.receive');
      const answerApplied = answer && this.childOf(answer, 'ingest.apply');
      if (receive && apply && reconcile && answer && answerApplied) return { receive, apply, reconcile, deliver, answer, answerApplied };
    }
    return null;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private take(request: OtlpRequest): void {
    if (request.signal !== 'traces') return;
    for (const rs of request.request.resourceSpans ?? []) {
      const service = String(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const attributes: Record<string, string> = {};
          for (const a of s.attributes ?? []) {
            const v = a.value;
            attributes[a.key ?? ''] = String(v?.stringValue ?? v?.intValue ?? v?.boolValue ?? v?.doubleValue ?? '');
          }
          this.spans.push({
            service,
            name: s.name ?? '',
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            attributes,
            statusCode: Number(s.status?.code ?? 0),
          });
        }
      }
    }
  }
}
