/**
 * OTLP export requests (agents' own telemetry, issue 19), pure: decoding a
 * POSTed body of /v1/metrics, /v1/traces or /v1/logs in either OTLP/HTTP
 * encoding (binary protobuf, or JSON with lowerCamelCase names and hex trace
 * and span ids) with the code generated from the OTLP definitions in
 * proto/opentelemetry (never a decoder of our own), counting what it holds,
 * and binding it to the agent that sent it.
 *
 * Binding: who sent it is the credential's business (the caller's); the body
 * cannot claim otherwise, so every resource's `service.instance.id` is set to
 * the agent's uid, whatever it said (a Collector sets it to its own
 * instance id; a forged one is overwritten, not believed).
 *
 * Bad input is an OtlpRequestError (answer 400 with its message), never
 * another exception.
 */
import './protobuf-numbers';
import { opentelemetry } from './generated/otlp';

export { opentelemetry };

export const OTLP_SIGNALS = ['metrics', 'traces', 'logs'] as const;
export type OtlpSignal = (typeof OTLP_SIGNALS)[number];

const C = opentelemetry.proto.collector;
type MetricsRequest = opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
type TracesRequest = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
type LogsRequest = opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
type KeyValue = opentelemetry.proto.common.v1.IKeyValue;

export type OtlpRequest = { signal: 'metrics'; request: MetricsRequest } | { signal: 'traces'; request: TracesRequest } | { signal: 'logs'; request: LogsRequest };

/** The attribute a bound request's resources carry the agent's uid in (OpenTelemetry semantic conventions). */
export const SERVICE_INSTANCE_ID = 'service.instance.id';

export class OtlpRequestError extends Error {
  override readonly name = 'OtlpRequestError';
}

export type OtlpEncoding = 'protobuf' | 'json';

/** The body's encoding from its Content-Type; null for anything else (answer 415). */
export function otlpEncodingOf(contentType: string): OtlpEncoding | null {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

const TYPES = {
  metrics: C.metrics.v1.ExportMetricsServiceRequest,
  traces: C.trace.v1.ExportTraceServiceRequest,
  logs: C.logs.v1.ExportLogsServiceRequest,
} as const;

const RESPONSES = {
  metrics: C.metrics.v1.ExportMetricsServiceResponse,
  traces: C.trace.v1.ExportTraceServiceResponse,
  logs: C.logs.v1.ExportLogsServiceResponse,
} as const;

// The bytes fields OTLP/JSON writes as hex (the protobuf JSON mapping would say base64).
const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes one export request of `signal`; the body is already inflated and within its size limit. */
export function decodeOtlpRequest(signal: OtlpSignal, body: Uint8Array, encoding: OtlpEncoding): OtlpRequest {
  const type = TYPES[signal];
  let request: MetricsRequest | TracesRequest | LogsRequest;
  if (encoding === 'protobuf') {
    try {
      request = type.decode(body);
    } catch (err) {
      throw new OtlpRequestError(`the body is not an OTLP ${signal} export request in protobuf: ${(err as Error).message}`);
    }
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (err) {
      throw new OtlpRequestError(`the body is not JSON: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new OtlpRequestError(`an OTLP ${signal} export request in JSON is an object`);
    try {
      request = type.fromObject(hexIdsToBase64(parsed) as Record<string, unknown>);
    } catch (err) {
      throw new OtlpRequestError(`the body is not an OTLP ${signal} export request in JSON: ${(err as Error).message}`);
    }
  }
  return { signal, request } as OtlpRequest;
}

/** OTLP/JSON ids are hex; the generated fromObject reads bytes as base64. A non-hex id is refused. */
function hexIdsToBase64(v: unknown, depth = 0): unknown {
  if (depth > 64) throw new OtlpRequestError('the JSON body is nested too deeply');
  if (Array.isArray(v)) return v.map((x) => hexIdsToBase64(x, depth + 1));
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (HEX_ID_FIELDS.has(k) && typeof x === 'string') {
      if (!HEX.test(x)) throw new OtlpRequestError(`${k} must be a hex string in OTLP/JSON`);
      out[k] = Buffer.from(x, 'hex').toString('base64');
    } else {
      out[k] = hexIdsToBase64(x, depth + 1);
    }
  }
  return out;
}

/** What a request holds: data points (metrics), spans (traces) or log records (logs). */
export function countOtlpItems(r: OtlpRequest): number {
  let n = 0;
  if (r.signal === 'metrics') {
    for (const rm of r.request.resourceMetrics) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const points = m.gauge?.dataPoints ?? m.sum?.dataPoints ?? m.histogram?.dataPoints ?? m.exponentialHistogram?.dataPoints ?? m.summary?.dataPoints ?? [];
          n += points.length;
        }
      }
    }
  } else if (r.signal === 'traces') {
    for (const rs of r.request.resourceSpans) for (const ss of rs.scopeSpans ?? []) n += (ss.spans ?? []).length;
  } else {
    for (const rl of r.request.resourceLogs) for (const sl of rl.scopeLogs ?? []) n += (sl.logRecords ?? []).length;
  }
  return n;
}

/**
 * Binds the request to the agent: every resource (one is made where the body
 * had none) carries `service.instance.id` = the agent's uid, and only once.
 * Returns how many resources claimed another identity (for the metrics).
 */
export function bindOtlpToAgent(r: OtlpRequest, agentUid: string): number {
  const resources = r.signal === 'metrics' ? r.request.resourceMetrics : r.signal === 'traces' ? r.request.resourceSpans : r.request.resourceLogs;
  let overridden = 0;
  for (const entry of resources) {
    const e = entry as { resource?: { attributes?: KeyValue[] } | null };
    const resource = (e.resource ??= { attributes: [] });
    const attributes = resource.attributes ?? [];
    if (attributes.some((a) => a.key === SERVICE_INSTANCE_ID && a.value?.stringValue !== agentUid)) overridden++;
    resource.attributes = [...attributes.filter((a) => a.key !== SERVICE_INSTANCE_ID), { key: SERVICE_INSTANCE_ID, value: { stringValue: agentUid } }];
  }
  return overridden;
}

/** The request in OTLP protobuf (what travels on, whichever encoding it came in). */
export function encodeOtlpRequest(r: OtlpRequest): Buffer {
  const bytes = TYPES[r.signal].encode(r.request as never).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A full success: the empty Export*ServiceResponse in the request's encoding. */
export function otlpSuccessBody(signal: OtlpSignal, encoding: OtlpEncoding): Buffer {
  if (encoding === 'json') return Buffer.from('{}');
  const bytes = RESPONSES[signal].encode({}).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
