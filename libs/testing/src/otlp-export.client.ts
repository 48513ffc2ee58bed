/**
 * What tests send to an OTLP/HTTP receiver of agents' own telemetry: a
 * Collector's own metrics (both the older and the newer metric naming) as
 * an OTLP/JSON export request, and a POST of it in JSON or protobuf, gzip or
 * not, with an agent's credential.
 */
import { gzipSync } from 'node:zlib';
import { decodeOtlpRequest, encodeOtlpRequest, type OtlpSignal } from '@opamp/protocol';

/** An ExportMetricsServiceRequest in OTLP/JSON with `points` data points; `claimedInstanceId` goes in service.instance.id. */
export function collectorOwnMetrics(o: { claimedInstanceId?: string; points?: number } = {}): Record<string, unknown> {
  const now = `${BigInt(Date.now()) * 1_000_000n}`;
  const points = Math.max(1, o.points ?? 3);
  const names = ['otelcol_process_memory_rss', 'otelcol_exporter_sent_metric_points', 'otelcol_exporter_send_failed_metric_points_total'];
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'otelcol-contrib' } },
            ...(o.claimedInstanceId ? [{ key: 'service.instance.id', value: { stringValue: o.claimedInstanceId } }] : []),
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'go.opentelemetry.io/collector/service' },
            metrics: Array.from({ length: points }, (_, i) => ({
              name: names[i % names.length],
              sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: now, asInt: String(100 * (i + 1)), attributes: [{ key: 'exporter', value: { stringValue: 'otlp' } }] }] },
            })),
          },
        ],
      },
    ],
  };
}

export interface OtlpPostOptions {
  encoding?: 'json' | 'protobuf';
  gzip?: boolean;
  /** Sent as `Authorization: Bearer <credential>`; absent: no header. */
  credential?: string;
}

/** POSTs an OTLP/JSON-shaped request to `${origin}/v1/<signal>`; returns the status and the body as text. */
export async function postOtlp(origin: string, signal: OtlpSignal, request: Record<string, unknown>, o: OtlpPostOptions = {}): Promise<{ status: number; text: string }> {
  const encoding = o.encoding ?? 'json';
  let body: Buffer = Buffer.from(JSON.stringify(request));
  if (encoding === 'protobuf') body = encodeOtlpRequest(decodeOtlpRequest(signal, body, 'json'));
  if (o.gzip) body = gzipSync(body);
  const headers: Record<string, string> = { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' };
  if (o.gzip) headers['content-encoding'] = 'gzip';
  if (o.credential) headers['authorization'] = `Bearer ${o.credential}`;
  const res = await fetch(new URL(`/v1/${signal}`, origin), { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}
