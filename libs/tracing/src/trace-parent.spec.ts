import { formatTraceParent, parseTraceParent } from './trace-parent';

describe('traceparent', () => {
  const ctx = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

  it('round-trips a context', () => {
    expect(formatTraceParent(ctx)).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(parseTraceParent(formatTraceParent(ctx))).toEqual(ctx);
  });

  it.each([
    ['', 'empty'],
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'another version'],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', 'upper case'],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'zero trace id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'zero span id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', 'no flags'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n', 'a trailing newline'],
  ])('refuses %j (%s)', (value) => {
    expect(parseTraceParent(value)).toBeNull();
  });
});
