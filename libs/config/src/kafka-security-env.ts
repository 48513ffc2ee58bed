/**
 * How the distributed processes reach a Kafka that wants TLS and/or SASL
 * (managed Kafka services do): the settings every Kafka client here shares,
 * declared once, and the check that they go together. The password is read
 * from the environment or a file (a mounted Secret), never logged.
 */
import { readFileSync } from 'node:fs';
import { bool, str } from './env-schema';

export const kafkaSecurityEnv = {
  /** Connect to the brokers over TLS. */
  OPAMP_KAFKA_TLS: bool({ default: false }),
  /** PEM file of the CA(s) the brokers' certificates are checked against (default: the system's). */
  OPAMP_KAFKA_TLS_CA_FILE: str({ default: '' }),
  /** SASL mechanism: plain, scram-sha-256 or scram-sha-512 ("" none). */
  OPAMP_KAFKA_SASL_MECHANISM: str({ default: '' }),
  OPAMP_KAFKA_SASL_USERNAME: str({ default: '' }),
  OPAMP_KAFKA_SASL_PASSWORD: str({ default: '', secret: true }),
  /** ... or a file holding it. */
  OPAMP_KAFKA_SASL_PASSWORD_FILE: str({ default: '' }),
};

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSecuritySettings {
  /** TLS to the brokers; `ca` null: the system's trusted CAs. */
  tls: { ca: string | null } | null;
  sasl: { mechanism: KafkaSaslMechanism; username: string; password: string } | null;
}

type KafkaSecurityValues = { [K in keyof typeof kafkaSecurityEnv]: ReturnType<(typeof kafkaSecurityEnv)[K]['parse']> };

const MECHANISMS: readonly KafkaSaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** The settings, or a clear error for a combination that cannot work (files are read here, at start). */
export function kafkaSecuritySettings(e: KafkaSecurityValues, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): KafkaSecuritySettings {
  if (e.OPAMP_KAFKA_TLS_CA_FILE && !e.OPAMP_KAFKA_TLS) throw new Error('invalid configuration: OPAMP_KAFKA_TLS_CA_FILE needs OPAMP_KAFKA_TLS=true');
  const tls = e.OPAMP_KAFKA_TLS ? { ca: e.OPAMP_KAFKA_TLS_CA_FILE ? readPem(e.OPAMP_KAFKA_TLS_CA_FILE, readFile) : null } : null;
  const mechanism = e.OPAMP_KAFKA_SASL_MECHANISM.trim().toLowerCase();
  if (!mechanism) {
    if (e.OPAMP_KAFKA_SASL_USERNAME || e.OPAMP_KAFKA_SASL_PASSWORD || e.OPAMP_KAFKA_SASL_PASSWORD_FILE) {
      throw new Error('invalid configuration: OPAMP_KAFKA_SASL_USERNAME/PASSWORD need OPAMP_KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)');
    }
    return { tls, sasl: null };
  }
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new Error(`invalid configuration: OPAMP_KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}`);
  }
  if (e.OPAMP_KAFKA_SASL_PASSWORD && e.OPAMP_KAFKA_SASL_PASSWORD_FILE) throw new Error('invalid configuration: set OPAMP_KAFKA_SASL_PASSWORD or OPAMP_KAFKA_SASL_PASSWORD_FILE, not both');
  const password = e.OPAMP_KAFKA_SASL_PASSWORD_FILE ? readFile(e.OPAMP_KAFKA_SASL_PASSWORD_FILE).replace(/\r?\n$/, '') : e.OPAMP_KAFKA_SASL_PASSWORD;
  if (!e.OPAMP_KAFKA_SASL_USERNAME || !password) throw new Error('invalid configuration: SASL needs OPAMP_KAFKA_SASL_USERNAME and a password (OPAMP_KAFKA_SASL_PASSWORD or _FILE)');
  return { tls, sasl: { mechanism: mechanism as KafkaSaslMechanism, username: e.OPAMP_KAFKA_SASL_USERNAME, password } };
}

function readPem(path: string, readFile: (path: string) => string): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new Error(`invalid configuration: OPAMP_KAFKA_TLS_CA_FILE ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`invalid configuration: OPAMP_KAFKA_TLS_CA_FILE ${path} holds no PEM certificate`);
  return text;
}
