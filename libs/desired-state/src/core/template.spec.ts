import { isTemplate, placeholderRender, renderTemplate, scanVariables, templateVariables, type TemplateWork } from './template';

const ctx = { attributes: { 'service.name': 'checkout', 'host.name': 'h1', env: 'prod' }, instanceUidHex: '0123456789abcdef0123456789abcdef' };

describe('templates', () => {
  it('renders attributes and the instance uid', () => {
    expect(renderTemplate('c.yaml', 'name: ${attr:service.name}\nhost: ${attr:host.name}\nuid: ${agent:instance_uid}', ctx)).toBe(
      'name: checkout\nhost: h1\nuid: 0123456789abcdef0123456789abcdef',
    );
  });

  it('uses the default when the attribute is missing, and the attribute when present', () => {
    expect(renderTemplate('f', '${attr:zone:-eu-1}/${attr:env:-dev}/${attr:x:-}', ctx)).toBe('eu-1/prod/');
  });

  it('leaves Collector variables and escaped ones untouched', () => {
    const body = 'a: ${env:HOME}\nb: ${HOME}\nc: $${attr:service.name}\nd: ${file:/x}';
    expect(renderTemplate('f', body, ctx)).toBe(body);
    expect(isTemplate(body)).toBe(false);
    expect(isTemplate('x: ${attr:a}')).toBe(true);
  });

  it('names the unknown variable, the file and the line', () => {
    expect(() => renderTemplate('collector.yaml', 'a: 1\nb: ${attr:service.name}\nc: ${attr:deployment.region}', ctx)).toThrow(
      "file 'collector.yaml' line 3: unknown variable '${attr:deployment.region}': the agent has no attribute 'deployment.region'",
    );
    expect(() => renderTemplate('', '${attr:nope}', ctx)).toThrow(
      expect.objectContaining({ name: 'TemplateError', variable: '${attr:nope}', message: expect.stringMatching(/^file "" line 1/) }),
    );
  });

  it('rejects unknown agent variables and malformed keys', () => {
    expect(() => templateVariables('f', '${agent:hostname}')).toThrow(/unknown variable '\$\{agent:hostname\}' \(known: \$\{agent:instance_uid\}\)/);
    expect(() => templateVariables('f', 'x\n${attr:bad key}')).toThrow(/line 2: malformed variable/);
    expect(() => templateVariables('f', '${attr:}')).toThrow(/malformed variable/);
  });

  it('lists variables with lines and defaults', () => {
    expect(templateVariables('f', '${attr:a}\n${attr:b:-x} $${attr:c}')).toEqual([
      { namespace: 'attr', key: 'a', defaultValue: undefined, line: 1 },
      { namespace: 'attr', key: 'b', defaultValue: 'x', line: 2 },
    ]);
  });

  it('reads variables as the pattern did: unclosed or odd ones are text, escaped ones are skipped', () => {
    expect(renderTemplate('f', '${attr:a:b} ${attr:env ${attr:env:-x $${attr:env} $$${attr:env}', ctx)).toBe('${attr:a:b} ${attr:env prod $$${attr:env}');
    expect(renderTemplate('f', '${attr:env:-a:b}|${attr:q:-a:b}|${attrx:env}|${agent:instance_uid}', ctx)).toBe('prod|a:b|${attrx:env}|0123456789abcdef0123456789abcdef');
    expect(() => templateVariables('f', 'a: ${attr:x:-one\ntwo}')).toThrow("file 'f' line 1: malformed variable '${attr:x:-...': a default cannot span lines (is a '}' missing?)");
  });

  it('finds variables in work linear in the body, however many and however malformed', () => {
    const shapes = ['k: ${attr:service.name}\n', '${attr:a:-', '${attr:', '$${attr:env}', '${agent:instance_uid} '];
    for (const shape of shapes) {
      const scan = (n: number) => {
        const work: TemplateWork = { steps: 0 };
        const body = shape.repeat(n);
        scanVariables('f', body, work);
        return { steps: work.steps, size: body.length };
      };
      for (const n of [10, 1000, 20_000]) {
        const { steps, size } = scan(n);
        expect({ shape, n, steps: steps <= 3 * size }).toEqual({ shape, n, steps: true });
      }
    }
  });

  it('placeholder rendering keeps structure and defaults', () => {
    expect(placeholderRender('otlp/${attr:service.name}: ${attr:x:-7} $${attr:y}')).toBe('otlp/placeholder-service-name: 7 $${attr:y}');
  });
});
