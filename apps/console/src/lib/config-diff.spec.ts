import fc from 'fast-check';
import { stringify } from 'yaml';
import { compareConfigFile, formatPath, pairConfigFiles, REDACTED } from './config-diff';

const DESIRED = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
exporters:
  otlphttp:
    endpoint: https://eu.telemetry.example
    timeout: 1m
    headers:
      api-key: s3cret
processors:
  batch:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp]
`;

// What a Collector reports for DESIRED: re-marshalled, keys sorted, defaults filled in, durations in Go form, secrets hidden.
const EFFECTIVE = `exporters:
  otlphttp:
    compression: gzip
    endpoint: "https://eu.telemetry.example"
    headers:
      api-key: "[REDACTED]"
    timeout: 1m0s
processors:
  batch:
    send_batch_size: 8192
    timeout: 200ms
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "0.0.0.0:4317"
        max_recv_msg_size_mib: 4
service:
  pipelines:
    traces:
      exporters:
        - otlphttp
      processors:
        - batch
      receivers:
        - otlp
  telemetry:
    metrics:
      level: normal
`;

describe('pairConfigFiles', () => {
  it('pairs one desired file with the one effective file whatever its name (a Collector reports "")', () => {
    expect(pairConfigFiles({ 'collector.yaml': { body: '' } }, { '': { body: '' } })).toEqual([{ desiredName: 'collector.yaml', effectiveName: '' }]);
    expect(pairConfigFiles({ 'collector.yaml': { body: '' } }, { 'other.yaml': { body: '' } })).toEqual([{ desiredName: 'collector.yaml', effectiveName: 'other.yaml' }]);
  });

  it('pairs several files by name, each unmatched file alone', () => {
    expect(pairConfigFiles({ 'a.yaml': { body: '' }, 'b.yaml': { body: '' } }, { 'b.yaml': { body: '' }, 'c.yaml': { body: '' } })).toEqual([
      { desiredName: 'a.yaml', effectiveName: undefined },
      { desiredName: 'b.yaml', effectiveName: 'b.yaml' },
      { desiredName: undefined, effectiveName: 'c.yaml' },
    ]);
    expect(pairConfigFiles({ 'a.yaml': { body: '' } }, {})).toEqual([{ desiredName: 'a.yaml', effectiveName: undefined }]);
  });
});

describe('compareConfigFile', () => {
  it('finds nothing missing when the Collector runs what was sent, re-marshalled with its defaults', () => {
    const c = compareConfigFile(DESIRED, EFFECTIVE);
    if (c.mode !== 'semantic') throw new Error(`expected a semantic comparison, got ${c.reason}`);
    expect(c.differences).toEqual([]);
    expect(c.addedByAgent.map((a) => formatPath(a.path)).sort()).toEqual([
      'exporters.otlphttp.compression',
      'processors.batch.send_batch_size',
      'processors.batch.timeout',
      'receivers.otlp.protocols.grpc.max_recv_msg_size_mib',
      'service.telemetry',
    ]);
  });

  it('reports what the operator set that the agent lacks or runs differently, with both values', () => {
    const effective = EFFECTIVE.replace('timeout: 1m0s', 'timeout: 30s').replace('        max_recv_msg_size_mib: 4\n', '').replace('"0.0.0.0:4317"', '"0.0.0.0:4318"').replace('      processors:\n        - batch\n', '');
    const c = compareConfigFile(DESIRED, effective);
    if (c.mode !== 'semantic') throw new Error('expected a semantic comparison');
    expect(c.differences.map((d) => [formatPath(d.path), d.kind, d.desired, d.effective])).toEqual([
      ['receivers.otlp.protocols.grpc.endpoint', 'different', '0.0.0.0:4317', '0.0.0.0:4318'],
      ['exporters.otlphttp.timeout', 'different', '1m', '30s'],
      ['service.pipelines.traces.processors', 'missing', ['batch'], undefined],
    ]);
  });

  it('compares scalars as the Collector types them: "4317" is 4317, "true" is true, 1.0 is 1; 4317 is not 4318', () => {
    const same = (d: string, e: string) => {
      const c = compareConfigFile(d, e);
      return c.mode === 'semantic' && c.differences.length === 0;
    };
    expect(same('port: "4317"', 'port: 4317')).toBe(true);
    expect(same('port: 4317', 'port: "4317"')).toBe(true);
    expect(same('on: "true"', 'on: true')).toBe(true);
    expect(same('ratio: 1.0', 'ratio: 1')).toBe(true);
    expect(same('ratio: "1.0"', 'ratio: 1')).toBe(true);
    expect(same('wait: 90s', 'wait: 1m30s')).toBe(true);
    expect(same('port: 4317', 'port: 4318')).toBe(false);
    expect(same('on: true', 'on: false')).toBe(false);
    expect(same('wait: 90s', 'wait: 1m')).toBe(false);
    expect(same('name: "1"', 'name: true')).toBe(false);
    expect(same('list: [a, b]', 'list: [b, a]')).toBe(false);
    expect(same('key: s3cret', `key: "${REDACTED}"`)).toBe(true);
  });

  it('treats a key left empty as satisfied by the defaults there, but not by its absence', () => {
    const c = compareConfigFile('receivers:\n  otlp:\n  filelog: {}\n', 'receivers:\n  otlp:\n    protocols: {grpc: {}}\n');
    if (c.mode !== 'semantic') throw new Error('expected a semantic comparison');
    expect(c.differences).toEqual([{ path: ['receivers', 'filelog'], kind: 'missing', desired: {} }]);
    expect(c.addedByAgent).toEqual([{ path: ['receivers', 'otlp', 'protocols'], value: { grpc: {} } }]);
  });

  it('falls back to a line diff and says so when a side is not YAML', () => {
    const c = compareConfigFile('a: 1\n', 'a: [1\n');
    expect(c.mode).toBe('text');
    if (c.mode !== 'text') return;
    expect(c.reason).toMatch(/^the effective file is not YAML \(/);
    expect([c.added, c.removed]).toEqual([1, 1]);
    const d = compareConfigFile('{{ broken', 'a: 1\n');
    expect(d.mode === 'text' && d.reason).toMatch(/^the desired file is not YAML/);
  });

  it('formats paths with indexes and quoted keys', () => {
    expect(formatPath(['service', 'pipelines', 'traces', 'receivers', 0])).toBe('service.pipelines.traces.receivers[0]');
    expect(formatPath(['processors', 'batch/x.y'])).toBe('processors."batch/x.y"');
    expect(formatPath([])).toBe('(whole file)');
  });
});

// Collector-like documents: maps of component names to maps, lists and scalars.
const key = fc.stringMatching(/^[a-z][a-z0-9_/]{0,8}$/);
const scalar = fc.oneof(fc.integer({ min: -100000, max: 100000 }), fc.boolean(), fc.stringMatching(/^[a-z0-9.:/_-]{1,12}$/));
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(scalar, { maxLength: 3 }), tie('map')),
  map: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).map;

/** What a Collector does to a document: adds default keys to maps, writes scalars as quoted strings, reorders keys. */
function remarshal(v: unknown, defaults: Iterator<[string, number]>, quote: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => remarshal(x, defaults, quote));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) out[k] = remarshal((v as Record<string, unknown>)[k], defaults, quote);
    const next = defaults.next();
    if (!next.done && !(next.value[0] in out)) out[next.value[0]] = next.value[1];
    return out;
  }
  return quote && v !== null ? String(v) : v;
}

describe('compareConfigFile properties', () => {
  it('a document against its own re-marshalled form with defaults added never reports a difference', () => {
    fc.assert(
      fc.property(doc, fc.array(fc.tuple(key.map((k) => `default_${k}`), fc.integer()), { maxLength: 10 }), fc.boolean(), (d, defaults, quote) => {
        const effective = stringify(remarshal(d, defaults[Symbol.iterator](), quote));
        const c = compareConfigFile(stringify(d), effective);
        return c.mode === 'semantic' && c.differences.length === 0;
      }),
    );
  });

  it('a key the operator set and the agent dropped is reported missing at its path', () => {
    fc.assert(
      fc.property(doc.filter((d) => Object.keys(d).length > 0), fc.nat(), (d, pick) => {
        const keys = Object.keys(d);
        const dropped = keys[pick % keys.length];
        const effective = { ...d };
        delete effective[dropped];
        const c = compareConfigFile(stringify(d), stringify(effective));
        return c.mode === 'semantic' && c.differences.some((x) => x.kind === 'missing' && x.path.length === 1 && x.path[0] === dropped);
      }),
    );
  });
});
