import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { agentValues, TemplateError, type TemplateWork } from './template';
import { compileYamlTemplate, renderYaml } from './yaml-template';

const uid = '0123456789abcdef0123456789abcdef';

function render(body: string, attributes: Record<string, string>, work?: TemplateWork): string {
  const c = compileYamlTemplate('c.yaml', body, work);
  if (!c.ok) throw new Error(`template does not parse: ${body}`);
  return renderYaml('c.yaml', c.pieces, agentValues({ attributes, instanceUidHex: uid }), work);
}

/** The document as plain data with every scalar a string (failsafe schema): structure and text, no type guessing. */
function data(text: string): unknown {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return doc.toJS();
}

/** `tree` with `mark` replaced by `value` in every key and string. */
function substitute(tree: unknown, mark: string, value: string): unknown {
  if (typeof tree === 'string') return tree.split(mark).join(value);
  if (Array.isArray(tree)) return tree.map((x) => substitute(x, mark, value));
  if (tree && typeof tree === 'object') return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k.split(mark).join(value), substitute(v, mark, value)]));
  return tree;
}

// One variable in each position a scalar can take: plain (alone, inside text, multi-line), key, quoted, block, flow.
const TEMPLATES: Record<string, string> = {
  'plain value': 'exporters:\n  otlphttp:\n    endpoint: ${attr:v}\n    compression: gzip\n',
  'plain inside text': 'exporters:\n  otlphttp:\n    endpoint: https://${attr:v}.example:4318/x # note\n',
  'plain over lines': 'a:\n  b: first\n    then ${attr:v} last\n  c: 1\n',
  key: 'exporters:\n  otlphttp/${attr:v}:\n    endpoint: x\n  debug: {}\n',
  'double-quoted': 'a: "pre \\t ${attr:v} post"\nb: "${attr:v}"\n',
  'double-quoted over lines': 'a: "one\n  ${attr:v}\n  three"\n',
  'single-quoted': "a: 'it''s ${attr:v}'\nb: 'x'\n",
  'single-quoted over lines': "a: 'one\n  ${attr:v}\n  three'\n",
  literal: 'a: |\n  line one\n  ${attr:v}\n  line ${attr:v} three\nb: 2\n',
  folded: 'a: >-\n  folded ${attr:v}\n  text\nb: 2\n',
  'flow sequence': 'service:\n  pipelines:\n    traces: { receivers: [otlp, r/${attr:v}], exporters: [debug] }\n',
  'flow map': 'a: {k: ${attr:v}, "q": "${attr:v}", \'s\': \'${attr:v}\'}\n',
  'block sequence': 'a:\n  - ${attr:v}\n  - two\n',
  'top-level scalar': '${attr:v}\n',
  'tagged, anchored, header comment': 'a: !!str ${attr:v}\nb: &anc x-${attr:v}\nc: *anc\nd: |- # ${attr:v}\n  ${attr:v}\n',
};

// The classes of the issue: line breaks of every kind, quotes, '#', flow and mapping indicators, anchors, tags, document markers.
const HOSTILE = ['\n', '\r\n', '\r', '\u0085', '\u2028', '\u2029', '"', "'", '\\', '#', ' #', '{', '}', '[', ']', ',', ': ', ':', '- ', '? ', '&a', '*a', '!!str', '|', '>', '%YAML', '---', '...', '\t', ' ', '\0', '\u001b', '\ufeff', '$', '${attr:v}', 'é', '😀', 'x'];
const hostile = fc.array(fc.constantFrom(...HOSTILE), { maxLength: 12 }).map((xs) => xs.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const values = fc.oneof(hostile, anyText, fc.tuple(hostile, anyText, hostile).map((xs) => xs.join('')));

describe('YAML templates', () => {
  it("renders the issue's injection as one endpoint", () => {
    const region = 'eu.example\n    headers:\n      x-evil: injected\n  debug: {}\nextensions:\n  pprof: {}\n#';
    const out = render('exporters:\n  otlphttp:\n    endpoint: https://${attr:region}.example\n', { region });
    expect(data(out)).toEqual({ exporters: { otlphttp: { endpoint: `https://${region}.example` } } });
  });

  it('keeps the text of the template where values need no quoting', () => {
    const body = 'otlphttp/${attr:env}: { endpoint: "https://${attr:svc}.example" }\nuid: ${agent:instance_uid}\n# ${attr:nope} in a comment\nn: ${attr:port}\n';
    expect(render(body, { env: 'prod', svc: 'checkout', port: '4317' })).toBe(
      `otlphttp/prod: { endpoint: "https://checkout.example" }\nuid: ${uid}\n# \${attr:nope} in a comment\nn: 4317\n`,
    );
  });

  it('quotes a scalar whose value needs it, and escapes inside quotes', () => {
    expect(render('a: x-${attr:v}-y\n', { v: 'b: c' })).toBe('a: "x-b: c-y"\n');
    expect(render('a: "${attr:v}"\n', { v: 'q"\\\n' })).toBe('a: "q\\"\\\\\\n"\n');
    expect(render("a: '${attr:v}'\n", { v: "it's" })).toBe("a: 'it''s'\n");
    expect(render('a: |\n  ${attr:v}\n', { v: 'x\ny: 1' })).toBe('a: "x\\ny: 1\\n"\n');
  });

  it('refuses variables that cannot be made safe, and values that are not Unicode text', () => {
    expect(() => compileYamlTemplate('c', 'a: &${attr:v} 1')).toThrow(new TemplateError('c', 1, '${attr:v}', "variable '${attr:v}' is in a YAML anchor; a variable can only stand in a value or a key"));
    expect(() => compileYamlTemplate('c', 'a: 1\nb: *${attr:v}')).toThrow(/line 2: variable '\$\{attr:v\}' is in a YAML alias/);
    expect(() => render('a: ${attr:v}', { v: 'x\ud800' })).toThrow(expect.objectContaining({ name: 'TemplateError', message: "file 'c.yaml' line 1: the value of '${attr:v}' is not valid Unicode text" }));
    expect(compileYamlTemplate('c', 'a: [${attr:v}')).toEqual({ ok: false, variables: 1 });
  });

  it('names a missing attribute with its line', () => {
    expect(() => render('a: 1\nb: ${attr:zone}', {})).toThrow("file 'c.yaml' line 2: unknown variable '${attr:zone}': the agent has no attribute 'zone'");
  });

  it('a variable in a block scalar header comment stays as written', () => {
    expect(render('a: | # for ${attr:v}\n  ${attr:v}\n', { v: 'x' })).toBe('a: | # for ${attr:v}\n  x\n');
    expect(render('a: | # for ${attr:v}\n  ${attr:v}\n', { v: 'x\ny' })).toBe('a: "x\\ny\\n"\n');
  });

  it('a sentinel-like text in the body does not confuse rendering', () => {
    expect(render('a: tplvar0q tplvarxx1q ${attr:v}\n', { v: 'z' })).toBe('a: tplvar0q tplvarxx1q z\n');
  });

  for (const [position, body] of Object.entries(TEMPLATES)) {
    it(`property: any value in a ${position} stays inside its scalar, verbatim`, () => {
      const mark = 'HARMLESSMARK';
      const expectedShape = data(render(body, { v: mark }));
      fc.assert(
        fc.property(values, (v) => {
          const out = render(body, { v });
          expect(data(out)).toEqual(substitute(expectedShape, mark, v));
        }),
        { numRuns: 200 },
      );
    });
  }

  it('property: work is linear in the size of template and output', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1500 }), fc.constantFrom(...Object.values(TEMPLATES)), values, (n, unit, v) => {
        const body = Array.from({ length: n }, (_, i) => `d${i}:\n${unit.replace(/^(?=.)/gm, '  ')}`).join('');
        const work: TemplateWork = { steps: 0 };
        const out = render(body, { v }, work);
        expect(work.steps).toBeLessThanOrEqual(4 * (body.length + out.length) + 64);
      }),
      { numRuns: 10 },
    );
  });
});
