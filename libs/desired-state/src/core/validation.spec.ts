import { MAX_YAML_ALIAS_COUNT } from './limits';
import { availableComponentTypes, componentType, isYamlFile, missingComponents, validateFiles } from './validation';

const Y = 'text/yaml';
const good = `
receivers:
  otlp:
    protocols: { grpc: {} }
  hostmetrics/fast: {}
processors:
  batch: {}
exporters:
  debug: {}
  otlphttp/backend: { endpoint: https://x }
connectors:
  count: {}
extensions:
  health_check: {}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp/backend, count]
    metrics:
      receivers: [hostmetrics/fast, count]
      exporters: [debug]
`;

describe('validation', () => {
  it('accepts a complete Collector configuration and models it', () => {
    const r = validateFiles({ 'collector.yaml': { body: good, contentType: Y } }, 'otel_collector');
    expect(r.errors).toEqual([]);
    expect(r.collector?.defined.receivers).toEqual(['otlp', 'hostmetrics/fast']);
    expect(r.collector?.used).toContainEqual({ kind: 'exporters', id: 'count', where: "pipeline 'traces' exporters" });
  });

  it('reports YAML syntax errors with file and line', () => {
    const r = validateFiles({ 'a.yaml': { body: 'a: 1\nb: [1, 2\n', contentType: Y } }, 'generic');
    expect(r.errors[0]).toMatch(/^file 'a.yaml' line \d+: YAML does not parse/);
    const dup = validateFiles({ 'a.yaml': { body: 'a: 1\na: 2\n', contentType: Y } }, 'generic');
    expect(dup.errors[0]).toMatch(/file 'a.yaml' line 2: YAML does not parse: .*unique/i);
  });

  it('refuses a YAML alias bomb with a clear error instead of expanding it', () => {
    // "billion laughs": each level doubles ten times; expanded it would be 10^9 strings.
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const r = validateFiles({ 'bomb.yaml': { body: levels.join('\n'), contentType: Y } }, 'generic');
    expect(r.errors).toEqual([`file 'bomb.yaml': YAML aliases expand too far (more than ${MAX_YAML_ALIAS_COUNT} nodes' worth of alias expansion); use fewer or smaller aliases`]);
    // Modest use of aliases is still fine.
    expect(validateFiles({ 'ok.yaml': { body: 'a: &x {k: 1}\nb: *x\nc: *x', contentType: Y } }, 'generic').errors).toEqual([]);
  });

  it('finds duplicate keys in nested and flow maps, and not across different maps', () => {
    const errs = (body: string) => validateFiles({ 'a.yaml': { body, contentType: Y } }, 'generic').errors;
    expect(errs('x:\n  a: 1\n  b: 2\ny:\n  a: 1\n')).toEqual([]);
    expect(errs('x:\n  a: 1\n  b: 2\n  a: 3\n')).toEqual(["file 'a.yaml' line 4: YAML does not parse: Map keys must be unique"]);
    expect(errs('x: {a: 1, b: [{c: 1, c: 2}]}')).toEqual(["file 'a.yaml' line 1: YAML does not parse: Map keys must be unique"]);
    expect(errs('1: a\n"1": b\n')).toEqual([]);
  });

  it('does not parse non-YAML files', () => {
    expect(validateFiles({ 'a.json': { body: '{not yaml: [', contentType: 'application/json' } }, 'generic').errors).toEqual([]);
    expect(validateFiles({ 'a.txt': { body: ': : [', contentType: '' } }, 'generic').errors).toEqual([]);
    expect(validateFiles({ 'a.yml': { body: 'a: [', contentType: '' } }, 'generic').errors).toHaveLength(1);
  });

  it('knows YAML files by content type or name', () => {
    expect(isYamlFile('x', 'application/yaml; charset=utf-8', 'generic')).toBe(true);
    expect(isYamlFile('x.yaml', 'text/plain', 'generic')).toBe(false);
    expect(isYamlFile('x', '', 'otel_collector')).toBe(true);
    expect(isYamlFile('x', '', 'generic')).toBe(false);
  });

  it('requires service.pipelines with receivers and exporters', () => {
    expect(validateFiles({ c: { body: 'receivers: {otlp: {}}', contentType: Y } }, 'otel_collector').errors).toEqual([
      "the 'service' section is missing: a Collector configuration needs service.pipelines",
    ]);
    expect(validateFiles({ c: { body: 'service: {pipelines: {}}', contentType: Y } }, 'otel_collector').errors).toEqual([
      "'service.pipelines' must define at least one pipeline",
    ]);
    const r = validateFiles({ c: { body: 'receivers: {otlp: {}}\nservice: {pipelines: {traces: {receivers: [otlp]}, logs: {exporters: []}}}', contentType: Y } }, 'otel_collector');
    expect(r.errors).toEqual(["pipeline 'traces' has no exporters", "pipeline 'logs' has no receivers", "pipeline 'logs' has no exporters"]);
  });

  it('names every undefined component', () => {
    const body = `receivers: {otlp: {}}
exporters: {debug: {}}
service:
  extensions: [pprof]
  pipelines:
    traces: {receivers: [otlp, jaeger], processors: [batch], exporters: [debug, otlp/x]}`;
    expect(validateFiles({ c: { body, contentType: Y } }, 'otel_collector').errors).toEqual([
      "service.extensions uses extension 'pprof', which is not defined in 'extensions'",
      "pipeline 'traces' receivers uses receiver 'jaeger', which is not defined in 'receivers'",
      "pipeline 'traces' processors uses processor 'batch', which is not defined in 'processors'",
      "pipeline 'traces' exporters uses exporter 'otlp/x', which is not defined in 'exporters'",
    ]);
  });

  it('checks shapes', () => {
    const errs = (body: string) => validateFiles({ c: { body, contentType: Y } }, 'otel_collector').errors;
    expect(errs('- a\n- b')).toEqual(["file 'c': a Collector configuration file must be a YAML map at the top level"]);
    expect(errs('receivers: [a]\nservice: {pipelines: {t: {receivers: [a], exporters: [b]}}}')[0]).toBe("'receivers' must be a map of component id to settings");
    expect(errs('service: {extensions: x, pipelines: {t: 1}}')).toEqual([
      "'service.extensions' must be a list of extension ids",
      "pipeline 't' must be a map with receivers, processors and exporters",
    ]);
    expect(errs('service: {pipelines: {t: {receivers: otlp, exporters: [1]}}}')).toEqual([
      "pipeline 't': 'receivers' must be a list of component ids",
      "pipeline 't': 'exporters' must be a list of component ids",
    ]);
  });

  it('merges several files in name order', () => {
    const files = {
      '10-receivers.yaml': { body: 'receivers: {otlp: {}}\nexporters: {debug: {}}', contentType: Y },
      '20-service.yaml': { body: 'service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}', contentType: Y },
      'empty.yaml': { body: '', contentType: Y },
    };
    expect(validateFiles(files, 'otel_collector').errors).toEqual([]);
  });

  it('checks the file set', () => {
    expect(validateFiles({}, 'generic').errors).toEqual(['a configuration needs at least one file']);
    expect(validateFiles({ 'a\nb': { body: '', contentType: '' } }, 'generic').errors[0]).toMatch(/control characters/);
    expect(validateFiles({ a: { body: 'x'.repeat(1024 * 1024 + 1), contentType: '' } }, 'generic').errors[0]).toMatch(/limit is 1048576/);
    const many: Record<string, { body: string; contentType: string }> = {};
    for (let i = 0; i < 65; i++) many[`f${i}`] = { body: '', contentType: '' };
    expect(validateFiles(many, 'generic').errors[0]).toMatch(/at most 64 files/);
    expect(validateFiles({ ['n'.repeat(300)]: { body: '', contentType: '' } }, 'generic').errors[0]).toMatch(/longer than 255/);
  });

  it('reads available components and finds missing types', () => {
    const available = availableComponentTypes({
      receivers: { subComponentMap: { otlp: {}, hostmetrics: {} } },
      processors: { subComponentMap: { batch: {} } },
      exporters: { sub_component_map: { debug: {}, otlphttp: {} } },
      extensions: { subComponentMap: { health_check: {} } },
    });
    expect(available?.get('receivers')).toEqual(new Set(['otlp', 'hostmetrics']));
    const model = validateFiles({ c: { body: good, contentType: Y } }, 'otel_collector').collector!;
    expect(missingComponents(model, available!)).toEqual(["the agent has no connector of type 'count'"]);
    expect(availableComponentTypes(null)).toBeNull();
    expect(availableComponentTypes({ other: {} })).toBeNull();
    expect(availableComponentTypes({ receivers: {} })?.get('receivers')).toEqual(new Set());
  });

  it('component type is the part before the slash', () => {
    expect(componentType('otlp/a/b')).toBe('otlp');
    expect(componentType('debug')).toBe('debug');
  });
});
