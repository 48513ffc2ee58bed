import { formatLogLine, jsonLog } from './json-log';

describe('formatLogLine', () => {
  it('puts level, time and message first, then the fields, as one JSON line', () => {
    const line = formatLogLine('warn', 'slow', { ms: 12, peer: 'gw-1' }, new Date('2026-01-02T03:04:05.678Z'));
    expect(line).toBe('{"level":"warn","time":"2026-01-02T03:04:05.678Z","msg":"slow","ms":12,"peer":"gw-1"}');
  });

  it('has no extra keys without fields', () => {
    expect(JSON.parse(formatLogLine('info', 'up'))).toEqual({ level: 'info', time: expect.any(String), msg: 'up' });
  });
});

describe('jsonLog', () => {
  afterEach(() => jest.restoreAllMocks());

  it('writes errors to stderr and the rest to stdout', () => {
    const out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    jsonLog('info', 'started', { port: 4320 });
    jsonLog('error', 'failed');
    expect(out).toHaveBeenCalledTimes(1);
    expect(JSON.parse(out.mock.calls[0][0] as string)).toMatchObject({ level: 'info', msg: 'started', port: 4320 });
    expect(err).toHaveBeenCalledTimes(1);
    expect(JSON.parse(err.mock.calls[0][0] as string)).toMatchObject({ level: 'error', msg: 'failed' });
  });
});
