/**
 * The server's credential key: the secret agents' own credentials are derived
 * from (libs/desired-state core/agent-credential.ts). It lives outside the
 * database: in the environment (base64) or in a file (base64 text, or 32 raw
 * bytes), as a deployment's secret provides it. Every config-service replica
 * must have the same key.
 */
import { readFileSync } from 'node:fs';

export const CREDENTIAL_KEY_BYTES = 32;

/** The key from base64 text; throws with a clear message when it is not 32 bytes. */
export function parseCredentialKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/_-]+=*$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== CREDENTIAL_KEY_BYTES) {
    throw new Error(`${source} must hold a ${CREDENTIAL_KEY_BYTES}-byte key in base64 (e.g. \`openssl rand -base64 32\`)`);
  }
  return key;
}

/** The key from the environment value or the file (raw 32 bytes or base64 text); null when neither is set. */
export function loadCredentialKey(value: string, file: string, names: { value: string; file: string }): Buffer | null {
  if (value && file) throw new Error(`set ${names.value} or ${names.file}, not both`);
  if (value) return parseCredentialKey(value, names.value);
  if (!file) return null;
  const bytes = readFileSync(file);
  return bytes.length === CREDENTIAL_KEY_BYTES ? bytes : parseCredentialKey(bytes.toString('utf8'), names.file);
}
