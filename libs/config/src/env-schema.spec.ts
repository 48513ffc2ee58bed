import { bool, EnvConfigError, int, list, readEnv, str, url } from './env-schema';

describe('readEnv', () => {
  const schema = {
    PORT: int({ default: 4320, min: 1, max: 65535 }),
    MODE: str({ default: 'embedded', choices: ['embedded', 'distributed'] }),
    TLS: bool({ default: false }),
    BROKERS: list({ default: ['127.0.0.1:19092'] }),
    DATABASE_URL: url({ protocols: ['postgres', 'postgresql'], secret: true }),
  };

  it('applies defaults and parses values', () => {
    const cfg = readEnv(schema, { DATABASE_URL: 'postgres://u:p@h/db', TLS: 'yes', BROKERS: 'a:1, b:2' });
    expect(cfg).toEqual({
      PORT: 4320,
      MODE: 'embedded',
      TLS: true,
      BROKERS: ['a:1', 'b:2'],
      DATABASE_URL: 'postgres://u:p@h/db',
    });
  });

  it('lists every problem at once, without echoing secret values', () => {
    try {
      readEnv(schema, { PORT: '70000', MODE: 'cloud', TLS: 'maybe', DATABASE_URL: 'mysql://u:hunter2@h/db' });
      throw new Error('expected a configuration error');
    } catch (err) {
      expect(err).toBeInstanceOf(EnvConfigError);
      const e = err as EnvConfigError;
      expect(e.problems).toEqual([
        'PORT must be <= 65535',
        'MODE must be one of embedded, distributed',
        'TLS must be true or false, got "maybe"',
        'DATABASE_URL must use postgres or postgresql',
      ]);
      expect(e.message).not.toContain('hunter2');
    }
  });

  it('requires variables without a default', () => {
    expect(() => readEnv({ X: str() }, {})).toThrow('X is required');
  });

  it('refuses non-integers', () => {
    expect(() => readEnv({ N: int() }, { N: '1.5' })).toThrow('N must be an integer, got "1.5"');
  });
});
