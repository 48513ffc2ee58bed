import { extractReadmeBlocks, isShellBlock, substitutePlaceholders } from './readme-block-extract';

const fence = '```';

describe('extractReadmeBlocks', () => {
  it('takes every fenced block in order, with its line, language and body', () => {
    const md = ['# Title', '', `${fence}sh`, 'echo one', `${fence}`, 'text', `${fence}`, 'a --> b', `${fence}`, `${fence}Bash title`, 'echo two', `${fence}`, ''].join('\n');
    const blocks = extractReadmeBlocks(md);
    expect(blocks.map((b) => [b.line, b.lang, b.body])).toEqual([
      [3, 'sh', 'echo one\n'],
      [7, '', 'a --> b\n'],
      [10, 'bash', 'echo two\n'],
    ]);
    expect(blocks.map(isShellBlock)).toEqual([true, false, true]);
  });

  it('marks a block skipped with the reason of the marker before it, blank lines between allowed', () => {
    const md = ['<!-- readme-test: skip starts the server -->', '', `${fence}sh`, 'npm start', `${fence}`, `${fence}sh`, 'echo runs', `${fence}`].join('\n');
    const [skipped, runs] = extractReadmeBlocks(md);
    expect(skipped.skipReason).toBe('starts the server');
    expect(runs.skipReason).toBeNull();
  });

  it('keeps a skip without a reason as an empty reason, for the test to reject', () => {
    const md = ['<!-- readme-test: skip -->', `${fence}sh`, 'npm start', `${fence}`].join('\n');
    expect(extractReadmeBlocks(md)[0].skipReason).toBe('');
  });

  it('cuts a shell block into steps after each run of documented outputs (# => lines)', () => {
    const md = [`${fence}sh`, 'API=x', 'curl -s $API/a', '# => "version":1', '  # => "name":"prod"  ', '# a comment', 'curl -s $API/b', '# => "version":2', 'echo tail', `${fence}`].join('\n');
    expect(extractReadmeBlocks(md)[0].steps).toEqual([
      { script: 'API=x\ncurl -s $API/a\n', expects: ['"version":1', '"name":"prod"'] },
      { script: '# a comment\ncurl -s $API/b\n', expects: ['"version":2'] },
      { script: 'echo tail\n', expects: [] },
    ]);
  });

  it('makes a shell block without documented outputs one step, and other blocks none', () => {
    const md = [`${fence}sh`, 'echo one', 'echo two', `${fence}`, `${fence}yaml`, 'a: 1', `${fence}`].join('\n');
    expect(extractReadmeBlocks(md).map((b) => b.steps)).toEqual([[{ script: 'echo one\necho two\n', expects: [] }], []]);
  });

  it('names a YAML block after its first-line comment', () => {
    const md = [`${fence}yaml`, '# collector.yaml (otelcol-contrib)', 'a: 1', `${fence}`, `${fence}yaml`, 'b: 2', `${fence}`].join('\n');
    expect(extractReadmeBlocks(md).map((b) => b.fileName)).toEqual(['collector.yaml', null]);
  });

  it('refuses markers it cannot apply', () => {
    expect(() => extractReadmeBlocks(['<!-- readme-test: run fast -->', `${fence}sh`, 'x', `${fence}`].join('\n'))).toThrow(/unknown readme-test directive 'run'/);
    expect(() => extractReadmeBlocks(['<!-- readme-test: skip why -->', 'prose', `${fence}sh`, 'x', `${fence}`].join('\n'))).toThrow(/line 1: .* right before a code block/);
    expect(() => extractReadmeBlocks(['<!-- readme-test: skip why -->', `${fence}yaml`, 'a: 1', `${fence}`].join('\n'))).toThrow(/only shell blocks/);
    expect(() => extractReadmeBlocks(['text', '<!-- readme-test: skip why -->'].join('\n'))).toThrow(/line 2/);
    expect(() => extractReadmeBlocks([`${fence}sh`, 'echo never closed'].join('\n'))).toThrow(/line 1: code block never closed/);
  });
});

describe('substitutePlaceholders', () => {
  it('replaces every occurrence of each placeholder and nothing else', () => {
    const body = 'API=http://127.0.0.1:4380/api/v1; curl http://127.0.0.1:4380/x; echo 43800 ./.opamp-data/credentials.json\n';
    expect(
      substitutePlaceholders(body, [
        ['127.0.0.1:4380', '127.0.0.1:31002'],
        ['./.opamp-data', '/tmp/d'],
      ]),
    ).toBe('API=http://127.0.0.1:31002/api/v1; curl http://127.0.0.1:31002/x; echo 43800 /tmp/d/credentials.json\n');
  });
});
