import { readEnv } from './env-schema';
import { kafkaSecurityEnv, kafkaSecuritySettings } from './kafka-security-env';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const files: Record<string, string> = { '/ca.pem': PEM, '/pw': 'from-file\n', '/not-pem': 'hello' };
const read = (p: string) => {
  if (!(p in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return files[p];
};
const settings = (env: Record<string, string>) => kafkaSecuritySettings(readEnv(kafkaSecurityEnv, env), read);

describe('Kafka security settings', () => {
  it('is plaintext without settings', () => {
    expect(settings({})).toEqual({ tls: null, sasl: null });
  });

  it('reads TLS with the system CAs or a CA file, and SASL with a password or a password file', () => {
    expect(settings({ OPAMP_KAFKA_TLS: 'true' })).toEqual({ tls: { ca: null }, sasl: null });
    expect(settings({ OPAMP_KAFKA_TLS: 'true', OPAMP_KAFKA_TLS_CA_FILE: '/ca.pem' }).tls).toEqual({ ca: PEM });
    expect(settings({ OPAMP_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', OPAMP_KAFKA_SASL_USERNAME: 'u', OPAMP_KAFKA_SASL_PASSWORD: 'p' }).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    expect(settings({ OPAMP_KAFKA_SASL_MECHANISM: 'plain', OPAMP_KAFKA_SASL_USERNAME: 'u', OPAMP_KAFKA_SASL_PASSWORD_FILE: '/pw' }).sasl?.password).toBe('from-file');
  });

  it('refuses combinations that cannot work, naming the setting', () => {
    expect(() => settings({ OPAMP_KAFKA_TLS_CA_FILE: '/ca.pem' })).toThrow(/OPAMP_KAFKA_TLS_CA_FILE needs OPAMP_KAFKA_TLS=true/);
    expect(() => settings({ OPAMP_KAFKA_TLS: 'true', OPAMP_KAFKA_TLS_CA_FILE: '/missing' })).toThrow(/cannot be read \(ENOENT\)/);
    expect(() => settings({ OPAMP_KAFKA_TLS: 'true', OPAMP_KAFKA_TLS_CA_FILE: '/not-pem' })).toThrow(/holds no PEM certificate/);
    expect(() => settings({ OPAMP_KAFKA_SASL_USERNAME: 'u' })).toThrow(/need OPAMP_KAFKA_SASL_MECHANISM/);
    expect(() => settings({ OPAMP_KAFKA_SASL_MECHANISM: 'gssapi', OPAMP_KAFKA_SASL_USERNAME: 'u', OPAMP_KAFKA_SASL_PASSWORD: 'p' })).toThrow(/must be one of plain, scram-sha-256, scram-sha-512/);
    expect(() => settings({ OPAMP_KAFKA_SASL_MECHANISM: 'plain', OPAMP_KAFKA_SASL_USERNAME: 'u' })).toThrow(/needs OPAMP_KAFKA_SASL_USERNAME and a password/);
    expect(() => settings({ OPAMP_KAFKA_SASL_MECHANISM: 'plain', OPAMP_KAFKA_SASL_USERNAME: 'u', OPAMP_KAFKA_SASL_PASSWORD: 'p', OPAMP_KAFKA_SASL_PASSWORD_FILE: '/pw' })).toThrow(/not both/);
  });
});
