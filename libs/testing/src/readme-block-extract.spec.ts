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

  it('collects the documented outputs (# => lines) of a shell block', () => {
    const md = [`${fence}sh`, 'curl -s $API/x', '# => "version":1', '  # => "name":"prod"  ', '# not an output', `${fence}`].join('\n');
    expect(extractReadmeBlocks(md)[0].expects).toEqual(['"version":1', '"name":"prod"']);
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
