import { diffFiles, diffLines, hunks } from './diff';

const render = (lines: ReturnType<typeof diffLines>) => lines.map((l) => `${l.kind === 'same' ? ' ' : l.kind === 'add' ? '+' : '-'}${l.text}`).join('\n');

describe('diffLines', () => {
  it('keeps equal texts as unchanged lines with both line numbers', () => {
    const d = diffLines('a\nb\n', 'a\nb\n');
    expect(d.every((l) => l.kind === 'same')).toBe(true);
    expect(d[1]).toEqual({ kind: 'same', text: 'b', oldLine: 2, newLine: 2 });
  });

  it('finds a changed line in the middle', () => {
    expect(render(diffLines('receivers:\n  otlp: {}\nexporters:\n  debug: {}\n', 'receivers:\n  otlp: {}\nexporters:\n  otlphttp: {}\n'))).toBe(
      ' receivers:\n   otlp: {}\n exporters:\n-  debug: {}\n+  otlphttp: {}',
    );
  });

  it('handles insertions, deletions and empty sides', () => {
    expect(render(diffLines('', 'x\ny'))).toBe('+x\n+y');
    expect(render(diffLines('x\ny', ''))).toBe('-x\n-y');
    expect(render(diffLines('a\nc', 'a\nb\nc'))).toBe(' a\n+b\n c');
    const d = diffLines('a\nb\nc\nd', 'a\nc\nd\ne');
    expect(render(d)).toBe(' a\n-b\n c\n d\n+e');
    expect(d.find((l) => l.text === 'e')).toMatchObject({ newLine: 4 });
  });

  it('treats CRLF like LF', () => {
    expect(diffLines('a\r\nb\r\n', 'a\nb\n').every((l) => l.kind === 'same')).toBe(true);
  });
});

describe('diffFiles', () => {
  it('diffs by file name and says what happened to each file', () => {
    const d = diffFiles({ 'a.yaml': { body: 'x' }, 'b.yaml': { body: 'y' } }, { 'b.yaml': { body: 'y2' }, 'c.yaml': { body: 'z' } });
    expect(d.map((f) => [f.name, f.status, f.added, f.removed])).toEqual([
      ['a.yaml', 'removed', 0, 1],
      ['b.yaml', 'changed', 1, 1],
      ['c.yaml', 'added', 1, 0],
    ]);
  });
});

describe('hunks', () => {
  it('keeps context around changes and counts what it skips', () => {
    const old = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const changed = old.replace('l10', 'L10');
    const h = hunks(diffLines(old, changed), 2);
    expect(h).toHaveLength(1);
    expect(h[0].skippedBefore).toBe(8);
    expect(h[0].lines.map((l) => l.text)).toEqual(['l8', 'l9', 'l10', 'L10', 'l11', 'l12']);
  });

  it('returns no hunks for equal texts', () => {
    expect(hunks(diffLines('a\nb', 'a\nb'))).toEqual([]);
  });
});
