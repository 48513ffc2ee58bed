import { locateErrors, checkResourceName } from './config-errors';
import { agentDisplayName, relativeTime, shortHex, utf8ToBase64 } from './format';

describe('format', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('says how long ago', () => {
    expect(relativeTime('2026-01-01T11:59:59.500Z', now)).toBe('just now');
    expect(relativeTime('2026-01-01T11:59:30Z', now)).toBe('30 s ago');
    expect(relativeTime('2026-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2025-12-30T12:00:00Z', now)).toBe('2 d ago');
    expect(relativeTime('2026-01-01T12:10:00Z', now)).toBe('in 10 min');
    expect(relativeTime('', now)).toBe('—');
  });

  it('shortens hashes and names agents', () => {
    expect(shortHex('0123456789abcdef')).toBe('01234567');
    expect(shortHex('')).toBe('—');
    expect(agentDisplayName({ 'service.name': 'otelcol', 'host.name': 'h1' })).toBe('otelcol @ h1');
    expect(agentDisplayName({})).toBe('');
  });

  it('encodes UTF-8 text as base64', () => {
    expect(utf8ToBase64('héllo')).toBe(Buffer.from('héllo').toString('base64'));
  });
});

describe('config errors', () => {
  it('finds the file and line an error names', () => {
    expect(locateErrors(['a.yaml: YAML parse error at line 3, column 2: bad indentation', 'service: no pipelines'], ['a.yaml', 'ba.yaml'])).toEqual([
      { message: 'a.yaml: YAML parse error at line 3, column 2: bad indentation', file: 'a.yaml', line: 3 },
      { message: 'service: no pipelines' },
    ]);
  });

  it('checks names like the server', () => {
    expect(checkResourceName('collector-prod.v2')).toBe('');
    expect(checkResourceName('Prod')).not.toBe('');
    expect(checkResourceName('')).not.toBe('');
    expect(checkResourceName('a'.repeat(64))).not.toBe('');
  });
});
