import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { ServerTracing } from './server-tracing';
import { parseTraceParent } from './trace-parent';

describe('ServerTracing', () => {
  const identity = { serviceName: 'test-service', instanceId: 'replica-1' };

  it('is off by default: nothing starts, nothing continues', () => {
    expect(ServerTracing.off.enabled).toBe(false);
    expect(ServerTracing.off.startSampled('x')).toBeNull();
    expect(ServerTracing.off.startForced('x')).toBeNull();
    expect(ServerTracing.off.continueFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x')).toBeNull();
  });

  it('samples agent traffic at its ratio, forced traces always', () => {
    const draws = [0.05, 0.2, 0.09999];
    const tracing = ServerTracing.withExporter(new InMemorySpanExporter(), 0.1, identity, { random: () => draws.shift()! });
    expect(tracing.startSampled('a')).not.toBeNull();
    expect(tracing.startSampled('b')).toBeNull();
    expect(tracing.startSampled('c')).not.toBeNull();
    expect(tracing.startForced('d')).not.toBeNull();
    expect(ServerTracing.withExporter(new InMemorySpanExporter(), 0, identity).startSampled('e')).toBeNull();
  });

  it('starts at most maxTracesPerSecond sampled traces a second; forced ones are not bounded', () => {
    let now = 10_000;
    const tracing = ServerTracing.withExporter(new InMemorySpanExporter(), 1, identity, { maxTracesPerSecond: 3, now: () => now });
    const started = () => Array.from({ length: 5 }, () => tracing.startSampled('m')).filter(Boolean).length;
    expect(started()).toBe(3);
    expect(tracing.capped).toBe(2);
    expect(tracing.startForced('api.Create')).not.toBeNull();
    now += 999;
    expect(started()).toBe(0);
    now += 1;
    expect(started()).toBe(3);
  });

  it('continues a trace from its traceparent: same trace id, the sender span as parent, the resource named', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = ServerTracing.withExporter(exporter, 1, identity);
    const root = tracing.startForced('opamp.receive', { 'opamp.instance_uid': 'ab' })!;
    const next = tracing.continueFrom(root.traceParent, 'ingest.apply')!;
    const inner = next.child('ingest.write');
    inner.fail(new Error('boom')).end();
    next.end();
    root.end();
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['ingest.apply', 'ingest.write', 'opamp.receive']);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const traceId = byName.get('opamp.receive')!.spanContext().traceId;
    expect(spans.every((s) => s.spanContext().traceId === traceId)).toBe(true);
    expect(byName.get('ingest.apply')!.parentSpanContext?.spanId).toBe(parseTraceParent(root.traceParent)!.spanId);
    expect(byName.get('ingest.write')!.parentSpanContext?.spanId).toBe(byName.get('ingest.apply')!.spanContext().spanId);
    expect(byName.get('ingest.write')!.status).toEqual({ code: 2, message: 'boom' });
    expect(byName.get('opamp.receive')!.resource.attributes['service.name']).toBe('test-service');
    await tracing.shutdown();
  });

  it('ignores a traceparent that is not valid (it came over the wire)', () => {
    const tracing = ServerTracing.withExporter(new InMemorySpanExporter(), 1, identity);
    expect(tracing.continueFrom('garbage', 'x')).toBeNull();
    expect(tracing.continueFrom('', 'x')).toBeNull();
  });
});
