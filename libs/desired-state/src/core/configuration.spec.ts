import { configHash } from '@opamp/protocol';
import { parse } from 'yaml';
import { MAX_TEMPLATE_VARIABLES } from './limits';
import { checkResourceName, filesToConfigMap, hashFiles, newVersion, renderForAgent, requireValidConfiguration, validateConfiguration } from './configuration';

const Y = 'text/yaml';
const tpl = `receivers:
  otlp: {}
exporters:
  otlphttp/\${attr:env}: { endpoint: "https://\${attr:service.name}.example" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp/\${attr:env}] }
`;
const agent = { attributes: { env: 'prod', 'service.name': 'checkout' }, instanceUidHex: 'ab'.repeat(16) };

describe('configurations', () => {
  it('hash equals the protocol configHash of the config map and is order independent', () => {
    const a = { 'b.yaml': { body: 'x: 1', contentType: Y }, 'a.yaml': { body: 'y: 2', contentType: Y } };
    const b = { 'a.yaml': { body: 'y: 2', contentType: Y }, 'b.yaml': { body: 'x: 1', contentType: Y } };
    expect(hashFiles(a)).toEqual(hashFiles(b));
    expect(hashFiles(a)).toEqual(configHash(filesToConfigMap(a)));
    expect(hashFiles(a)).not.toEqual(hashFiles({ ...a, 'a.yaml': { body: 'y: 2', contentType: 'text/plain' } }));
    expect(hashFiles(a)).toHaveLength(32);
  });

  it('validates templates with placeholders and reports template syntax first', () => {
    expect(validateConfiguration({ c: { body: tpl, contentType: Y } }, 'otel_collector')).toEqual([]);
    expect(validateConfiguration({ c: { body: '${agent:nope}', contentType: Y } }, 'otel_collector')[0]).toMatch(/unknown variable '\$\{agent:nope\}'/);
    expect(() => requireValidConfiguration({ c: { body: 'a: [', contentType: Y } }, 'generic')).toThrow(/^invalid configuration: file 'c' line/);
  });

  it('renders per agent: hash is the hash of the rendered files', () => {
    const v = newVersion('t', 'cfg', 1, 'otel_collector', { c: { body: tpl, contentType: Y } });
    expect(v.templated).toBe(true);
    const out = renderForAgent(v, agent);
    if (!out.ok) throw new Error(out.reason);
    expect(out.files['c'].body).toContain('otlphttp/prod: { endpoint: "https://checkout.example" }');
    expect(out.hash).toEqual(hashFiles(out.files));
    expect(out.hash).not.toEqual(v.contentHash);
    const other = renderForAgent(v, { ...agent, attributes: { env: 'dev', 'service.name': 'checkout' } });
    expect(other.ok && other.hash).not.toEqual(out.hash);
  });

  it('a non-template version hashes once', () => {
    const v = newVersion('t', 'cfg', 1, 'generic', { c: { body: 'a: 1', contentType: Y } });
    expect(v.templated).toBe(false);
    const out = renderForAgent(v, agent);
    expect(out).toEqual({ ok: true, files: v.files, hash: v.contentHash });
  });

  it('reports an unknown attribute as not renderable', () => {
    const v = newVersion('t', 'cfg', 1, 'otel_collector', { c: { body: tpl, contentType: Y } });
    const out = renderForAgent(v, { ...agent, attributes: { env: 'prod' } });
    expect(out).toEqual({ ok: false, reason: expect.stringMatching(/^template: file 'c' line 4: unknown variable '\$\{attr:service.name\}'/) });
  });

  it('reports an invalid rendered result', () => {
    // A value cannot break the YAML (it stays one scalar), but it can still make two keys equal.
    const v = newVersion('t', 'cfg', 1, 'generic', { c: { body: 'a: 1\n${attr:env}: 2', contentType: Y } });
    const out = renderForAgent(v, { ...agent, attributes: { env: 'a' } });
    expect(out.ok).toBe(false);
    expect(!out.ok && out.reason).toMatch(/^rendered configuration is invalid: file 'c'/);
  });

  it('does not send component types the agent lacks', () => {
    const v = newVersion('t', 'cfg', 1, 'otel_collector', { c: { body: tpl, contentType: Y } });
    const lacking = renderForAgent(v, { ...agent, availableComponents: { receivers: { subComponentMap: { otlp: {} } }, exporters: { subComponentMap: { debug: {} } } } });
    expect(lacking).toEqual({ ok: false, reason: "not sent: the agent has no exporter of type 'otlphttp'" });
    const fine = renderForAgent(v, { ...agent, availableComponents: { receivers: { subComponentMap: { otlp: {} } }, exporters: { subComponentMap: { otlphttp: {} } } } });
    expect(fine.ok).toBe(true);
  });

  it('an attribute cannot add components: the issue\'s injection stays inside the endpoint', () => {
    const body = `receivers:
  otlp: {}
exporters:
  otlphttp:
    endpoint: https://\${attr:region}.example
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
`;
    const v = newVersion('t', 'cfg', 1, 'otel_collector', { 'c.yaml': { body, contentType: Y } });
    const region = 'eu.example\n    headers:\n      x-evil: injected\n  debug: {}\nextensions:\n  pprof: {}\n#';
    const out = renderForAgent(v, { ...agent, attributes: { region } });
    if (!out.ok) throw new Error(out.reason);
    const parsed = parse(out.files['c.yaml'].body) as { exporters: Record<string, { endpoint: string }>; extensions?: unknown };
    expect(Object.keys(parsed.exporters)).toEqual(['otlphttp']);
    expect(parsed.extensions).toBeUndefined();
    expect(parsed.exporters['otlphttp']).toEqual({ endpoint: `https://${region}.example` });
  });

  it('limits template variables per configuration, at create time and when rendering', () => {
    const body = (n: number, file: string) => Array.from({ length: n }, (_, i) => `${file}${i}: \${attr:env}`).join('\n');
    const half = Math.floor(MAX_TEMPLATE_VARIABLES / 2);
    const atCap = { a: { body: body(half, 'a'), contentType: Y }, b: { body: body(MAX_TEMPLATE_VARIABLES - half, 'b'), contentType: Y } };
    expect(validateConfiguration(atCap, 'generic')).toEqual([]);
    const over = { ...atCap, c: { body: 'c: ${agent:instance_uid}', contentType: Y } };
    const message = `the configuration uses ${MAX_TEMPLATE_VARIABLES + 1} template variables; the limit is ${MAX_TEMPLATE_VARIABLES} (render time grows with each one, for every agent)`;
    expect(validateConfiguration(over, 'generic')).toEqual([message]);
    expect(() => requireValidConfiguration(over, 'generic')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `invalid configuration: ${message}` }));
    // A version stored before the limit is not rendered either; the reason reaches the agent's status.
    expect(renderForAgent(newVersion('t', 'cfg', 1, 'generic', over), agent)).toEqual({ ok: false, reason: `template: ${message}` });
  });

  it('refuses variables outside values and keys when created, and unparsable YAML templates when rendered', () => {
    expect(validateConfiguration({ c: { body: 'a: &${attr:env} 1\nb: *x', contentType: Y } }, 'generic')).toEqual([
      "file 'c' line 1: variable '${attr:env}' is in a YAML anchor; a variable can only stand in a value or a key",
    ]);
    expect(validateConfiguration({ c: { body: 'a: 1\nb: !${attr:env} x', contentType: Y } }, 'generic')[0]).toMatch(/line 2: variable '\$\{attr:env\}' is in a YAML tag/);
    // Broken YAML is reported where it breaks; stored anyway (from before), it is never rendered.
    expect(validateConfiguration({ c: { body: 'a: [${attr:env}', contentType: Y } }, 'generic')[0]).toMatch(/^file 'c' line \d+: YAML does not parse/);
    const broken = newVersion('t', 'cfg', 1, 'generic', { c: { body: 'a: [${attr:env}', contentType: Y } });
    expect(renderForAgent(broken, { ...agent, attributes: { env: '1]' } })).toEqual({
      ok: false,
      reason: "template: file 'c' is not valid YAML, so its variables cannot be rendered safely",
    });
  });

  it('renders non-YAML files as text', () => {
    const v = newVersion('t', 'cfg', 1, 'generic', { 'n.txt': { body: 'x=${attr:env}', contentType: 'text/plain' } });
    const out = renderForAgent(v, { ...agent, attributes: { env: 'a\nb: c' } });
    expect(out.ok && out.files['n.txt'].body).toBe('x=a\nb: c');
  });

  it('checks resource names', () => {
    expect(() => checkResourceName('good-name.v1', 'configuration')).not.toThrow();
    for (const bad of ['', 'Upper', '-x', 'x-', 'a b', 'x'.repeat(64)]) expect(() => checkResourceName(bad, 'configuration')).toThrow(/configuration name .* is invalid/);
  });
});
