import { bindOtlpToAgent, countOtlpItems, decodeOtlpRequest, encodeOtlpRequest, opentelemetry, otlpEncodingOf, OtlpRequestError, SERVICE_INSTANCE_ID } from './otlp-request';

const M = opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const AGENT = '0190c1a2-0000-7000-8000-000000000001';
const OTHER = '0190c1a2-0000-7000-8000-0000000000ff';

/** What a Collector sends about itself: two metrics in both namings, three points, a forged instance id. */
const metricsJson = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otelcol' } }, { key: SERVICE_INSTANCE_ID, value: { stringValue: OTHER } }] },
      scopeMetrics: [
        {
          scope: { name: 'go.opentelemetry.io/collector/service' },
          metrics: [
            { name: 'otelcol_process_memory_rss', unit: 'By', gauge: { dataPoints: [{ timeUnixNano: '1733100000000000000', asInt: '73400320' }] } },
            {
              name: 'otelcol_exporter_sent_spans',
              sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asDouble: 10, attributes: [{ key: 'exporter', value: { stringValue: 'otlp' } }] }, { asDouble: 3 }] },
            },
          ],
        },
      ],
    },
  ],
};

describe('OTLP export requests (pure)', () => {
  it('decodes JSON and protobuf alike and counts data points, spans and log records', () => {
    const fromJson = decodeOtlpRequest('metrics', Buffer.from(JSON.stringify(metricsJson)), 'json');
    expect(countOtlpItems(fromJson)).toBe(3);
    const bytes = encodeOtlpRequest(fromJson);
    const fromProto = decodeOtlpRequest('metrics', bytes, 'protobuf');
    expect(countOtlpItems(fromProto)).toBe(3);
    expect(M.toObject(fromProto.request as never)).toEqual(M.toObject(fromJson.request as never));

    const spans = decodeOtlpRequest('traces', Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'a', traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' }, { name: 'b' }] }] }] })), 'json');
    expect(countOtlpItems(spans)).toBe(2);
    // Ids are hex in OTLP/JSON: they arrive as the bytes they name.
    const span = spans.signal === 'traces' ? spans.request.resourceSpans[0].scopeSpans![0].spans![0] : null;
    expect(Buffer.from(span!.traceId as Uint8Array).toString('hex')).toBe('5b8efff798038103d269b633813fc60c');
    const logs = decodeOtlpRequest('logs', Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }, { logRecords: [{}, {}] }] }] })), 'json');
    expect(countOtlpItems(logs)).toBe(3);
    expect(countOtlpItems(decodeOtlpRequest('metrics', Buffer.alloc(0), 'protobuf'))).toBe(0);
  });

  it('binds every resource to the agent whatever the body claims, and counts the claims it overrode', () => {
    const r = decodeOtlpRequest('metrics', Buffer.from(JSON.stringify({ ...metricsJson, resourceMetrics: [...metricsJson.resourceMetrics, { scopeMetrics: [] }] })), 'json');
    expect(bindOtlpToAgent(r, AGENT)).toBe(1);
    const decoded = decodeOtlpRequest('metrics', encodeOtlpRequest(r), 'protobuf');
    const ids = decoded.signal === 'metrics' ? decoded.request.resourceMetrics.map((rm) => (rm.resource!.attributes ?? []).filter((a) => a.key === SERVICE_INSTANCE_ID).map((a) => a.value!.stringValue)) : [];
    expect(ids).toEqual([[AGENT], [AGENT]]);
    // The other attributes stay data.
    expect(decoded.signal === 'metrics' && decoded.request.resourceMetrics[0].resource!.attributes![0]).toMatchObject({ key: 'service.name', value: { stringValue: 'otelcol' } });
  });

  it('refuses malformed bodies with an OtlpRequestError naming what is wrong', () => {
    const bad = (signal: 'metrics' | 'traces', body: string | Buffer, encoding: 'json' | 'protobuf') => () => decodeOtlpRequest(signal, Buffer.from(body), encoding);
    expect(bad('metrics', '{"resourceMetrics": ', 'json')).toThrow(OtlpRequestError);
    expect(bad('metrics', '{"resourceMetrics": ', 'json')).toThrow(/the body is not JSON/);
    expect(bad('metrics', '[1]', 'json')).toThrow(/is an object/);
    expect(bad('metrics', '{"resourceMetrics": 5}', 'json')).toThrow(/not an OTLP metrics export request in JSON/);
    expect(bad('traces', '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not-hex"}]}]}]}', 'json')).toThrow(/traceId must be a hex string/);
    expect(bad('metrics', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'protobuf')).toThrow(/not an OTLP metrics export request in protobuf/);
  });

  it('takes protobuf and JSON content types only', () => {
    expect(otlpEncodingOf('application/x-protobuf')).toBe('protobuf');
    expect(otlpEncodingOf('application/json; charset=utf-8')).toBe('json');
    expect(otlpEncodingOf('text/plain')).toBeNull();
  });
});
