import { fileNameProblem, validateFiles } from './validation';

const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';

describe('configuration file names', () => {
  it.each(['../../etc/passwd', 'conf/collector.yaml', '..\\win.yaml', '/abs.yaml', '.', '..'])('refuses %j: a file name is a plain name', (name) => {
    expect(fileNameProblem(name, 1)).toMatch(/must not contain '\/' or '\\'|is not a file name/);
    expect(validateFiles({ [name]: { body: STATIC, contentType: 'text/yaml' } }, 'otel_collector').errors).toEqual([expect.stringContaining('file name')]);
  });

  it('allows the empty name only as the one file (OpAMP single-file agents)', () => {
    expect(fileNameProblem('', 1)).toBeNull();
    expect(validateFiles({ '': { body: STATIC, contentType: '' } }, 'otel_collector').errors).toEqual([]);
    expect(validateFiles({ '': { body: STATIC, contentType: '' }, 'b.yaml': { body: 'a: 1', contentType: '' } }, 'otel_collector').errors).toEqual([
      'the empty file name is allowed only when it is the only file (the single-file case)',
    ]);
  });

  it('allows ordinary names with dots, dashes and spaces', () => {
    for (const name of ['collector.yaml', '.hidden.yaml', 'a..b.yaml', 'my config.yml']) expect(fileNameProblem(name, 2)).toBeNull();
  });

  it('echoes a long or control-character name capped, not whole', () => {
    const long = `${'x'.repeat(300_000)}.yaml`;
    const problem = fileNameProblem(long, 1) ?? '';
    expect(problem).toMatch(/^file name longer than 255 characters: "x{64}"…\(300005 bytes\)$/);
    expect(fileNameProblem('a\u0000b', 1)).toBe('file name "a\\u0000b" contains control characters');
  });
});
