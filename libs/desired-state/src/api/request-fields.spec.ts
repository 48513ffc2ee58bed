import { DesiredStateError } from '../core';
import { instanceUid, int, pageSize, rejectNulText } from './request-fields';

function refusal(fn: () => unknown): string {
  expect(fn).toThrow(DesiredStateError);
  try {
    fn();
  } catch (err) {
    expect((err as DesiredStateError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
  return '';
}

describe('int', () => {
  it('reads absent as 0 and integers within the type as themselves (numbers, or decimal strings as gRPC sends 64-bit fields)', () => {
    expect(int(undefined, 'version')).toBe(0);
    expect(int(null, 'version')).toBe(0);
    expect(int('', 'version')).toBe(0);
    expect(int(-7, 'priority')).toBe(-7);
    expect(int(2 ** 31 - 1, 'version')).toBe(2 ** 31 - 1);
    expect(int(2 ** 32 - 1, 'soak_time_ms', 'uint32')).toBe(2 ** 32 - 1);
    expect(int('9007199254740991', 'after_id', 'int64')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    [1e308, 'int32'],
    [2 ** 31, 'int32'],
    [-(2 ** 31) - 1, 'int32'],
    [2 ** 53, 'uint32'],
    [-1, 'uint32'],
    [1.5, 'int32'],
    [NaN, 'int32'],
    [Infinity, 'int64'],
    [-Infinity, 'int64'],
    ['4294967297', 'int32'],
    ['9007199254740993', 'int64'],
    ['1180591620717411303424', 'uint64'],
    ['-1', 'uint64'],
    ['12abc', 'int64'],
    [true, 'int32'],
    [{}, 'int32'],
  ] as const)('refuses %p as %s, naming the field', (v, type) => {
    expect(refusal(() => int(v, 'the_field', type))).toMatch(/^the_field must be an integer between -?\d+ and \d+, got /);
  });

  it('pageSize reads strictly too', () => {
    expect(pageSize(undefined)).toBe(100);
    expect(refusal(() => pageSize(2 ** 32 + 5))).toMatch(/^page_size must be an integer/);
  });
});

describe('instanceUid', () => {
  it('echoes a huge uid capped', () => {
    const message = refusal(() => instanceUid('a'.repeat(300_000)));
    expect(message.length).toBeLessThan(200);
    expect(message).toContain('…(300000 bytes)');
  });
});

describe('rejectNulText', () => {
  it('refuses a NUL in any string value or map key, naming where', () => {
    expect(refusal(() => rejectNulText({ files: { 'a.yaml': { body: 'a: 1\u0000' } } }))).toBe('files.a.yaml.body must not contain NUL characters (U+0000)');
    expect(refusal(() => rejectNulText({ query: 'x\u0000' }))).toBe('query must not contain NUL characters (U+0000)');
    expect(refusal(() => rejectNulText({ labels: ['ok', 'b\u0000'] }))).toBe('labels[1] must not contain NUL characters (U+0000)');
    expect(refusal(() => rejectNulText({ files: { 'a\u0000': {} } }))).toMatch(/^the name of files must not contain NUL/);
  });

  it('names a field under a long map key capped', () => {
    const message = refusal(() => rejectNulText({ files: { [`${'n'.repeat(300_000)}.yaml`]: { body: '\u0000' } } }));
    expect(message).toMatch(/^files\."n{64}"…\(300005 bytes\)\.body must not contain NUL/);
  });

  it('leaves text without NUL and bytes fields alone', () => {
    expect(() => rejectNulText({ name: 'ok', data: Buffer.from([0, 0]), n: 1, nested: { list: ['a', 'b'] } })).not.toThrow();
  });
});
