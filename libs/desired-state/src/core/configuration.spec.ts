import { configHash } from '@opamp/protocol';
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
    const v = newVersion('t', 'cfg', 1, 'generic', { c: { body: 'a: ${attr:env}', contentType: Y } });
    const out = renderForAgent(v, { ...agent, attributes: { env: '[' } });
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

  it('checks resource names', () => {
    expect(() => checkResourceName('good-name.v1', 'configuration')).not.toThrow();
    for (const bad of ['', 'Upper', '-x', 'x-', 'a b', 'x'.repeat(64)]) expect(() => checkResourceName(bad, 'configuration')).toThrow(/configuration name .* is invalid/);
  });
});
