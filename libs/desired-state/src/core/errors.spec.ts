import { capMessage, DesiredStateError, echo, invalidArgument } from './errors';
import { MAX_ECHO_CHARS, MAX_ERROR_MESSAGE_CHARS } from './limits';

describe('echo', () => {
  it('quotes a short value whole', () => {
    expect(echo('abc')).toBe('"abc"');
    expect(echo(42)).toBe('42');
    expect(echo({})).toBe('"[object Object]"');
    expect(echo('a"b\n')).toBe('"a\\"b\\n"');
  });

  it('cuts a long value to MAX_ECHO_CHARS characters and gives its size in bytes', () => {
    const out = echo('é'.repeat(300_000));
    expect(out).toBe(`"${'é'.repeat(MAX_ECHO_CHARS)}"…(600000 bytes)`);
  });
});

describe('error messages', () => {
  it('are never longer than MAX_ERROR_MESSAGE_CHARS, however they were built', () => {
    const err = invalidArgument(`bad: ${'y'.repeat(1_000_000)}`);
    expect(err).toBeInstanceOf(DesiredStateError);
    expect(err.message.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 40);
    expect(err.message).toMatch(/…\(\d+ more characters\)$/);
    expect(capMessage('short')).toBe('short');
  });
});
