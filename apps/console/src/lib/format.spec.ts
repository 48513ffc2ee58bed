import { locateErrors, checkResourceName } from './config-errors';
import { agentDisplayName, agentInstanceId, notSentText, relativeTime, shortHex, shortUid, utf8ToBase64 } from './format';

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

  it('says why a configuration was not sent without repeating "not sent"', () => {
    expect(notSentText("not sent: the agent has no exporter of type 'otlphttp'")).toBe("the agent has no exporter of type 'otlphttp'");
    expect(notSentText('template: attribute region missing')).toBe('template: attribute region missing');
  });

  it('tells apart Collectors started together: the short UID is the random tail, not the UUIDv7 time', () => {
    // Two UUIDv7 UIDs from the same millisecond.
    const a = '0198c2a4b1e07c3a9f21d4e5a6b7c8d9';
    const b = '0198c2a4b1e07d11b2c3d4e5f6071829';
    expect(shortHex(a)).toBe(shortHex(b));
    expect(shortUid(a)).not.toBe(shortUid(b));
    expect(shortUid(a)).toBe('…a6b7c8d9');
    expect(shortUid('')).toBe('—');
  });

  it('identifies an agent by service.instance.id when it reports one, else by its UID', () => {
    expect(agentInstanceId({ instanceUid: 'ab', labels: { 'service.name': 'otelcol', 'service.instance.id': 'i-1' } })).toEqual({ key: 'service.instance.id', value: 'i-1' });
    expect(agentInstanceId({ instanceUid: 'ab', labels: { 'service.name': 'otelcol' } })).toEqual({ key: 'uid', value: 'ab' });
  });
});
