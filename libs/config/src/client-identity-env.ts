/**
 * The settings of a process whose agent port sits behind a mutual-TLS
 * terminator (deploy/mtls): which headers carry the verified client
 * certificate, and whose word for them is taken. Shared by the gateway and
 * the embedded server, which read them under the same names.
 */
import { bool, list, str } from './env-schema';

const HEADER_NAME = /^[A-Za-z0-9-]*$/;

export const clientIdentityEnv = {
  /** The verified subject, carried with the agent's messages for the record. */
  OPAMP_CLIENT_IDENTITY_HEADER: str({ default: '' }),
  /** The verified certificate's SHA-256 fingerprint (hex of its DER): the agent's credential (HAProxy). */
  OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: str({ default: '' }),
  /** The verified certificate as URL-encoded PEM, fingerprinted by the gateway (ingress-nginx's `ssl-client-cert`). */
  OPAMP_CLIENT_CERT_HEADER: str({ default: '' }),
  /** Addresses and CIDR ranges of the terminators whose headers are believed. */
  OPAMP_TRUSTED_PROXIES: list({ default: ['127.0.0.1'] }),
  /** Refuse agents without a believed client identity. */
  OPAMP_REQUIRE_CLIENT_IDENTITY: bool({ default: false }),
};

export interface ClientIdentitySettings {
  header: string;
  fingerprintHeader: string;
  certificateHeader: string;
  trustedProxies: string[];
  required: boolean;
}

type ClientIdentityValues = { [K in keyof typeof clientIdentityEnv]: ReturnType<(typeof clientIdentityEnv)[K]['parse']> };

/** Null when no header is set (no terminator in front); throws on a combination that cannot work. */
export function clientIdentitySettings(e: ClientIdentityValues): ClientIdentitySettings | null {
  const headers = {
    OPAMP_CLIENT_IDENTITY_HEADER: e.OPAMP_CLIENT_IDENTITY_HEADER,
    OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: e.OPAMP_CLIENT_CERT_FINGERPRINT_HEADER,
    OPAMP_CLIENT_CERT_HEADER: e.OPAMP_CLIENT_CERT_HEADER,
  };
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(value)) throw new Error(`invalid configuration: ${name} must be an HTTP header name (letters, digits, '-')`);
  }
  if (e.OPAMP_CLIENT_CERT_FINGERPRINT_HEADER && e.OPAMP_CLIENT_CERT_HEADER) {
    throw new Error('invalid configuration: set OPAMP_CLIENT_CERT_FINGERPRINT_HEADER or OPAMP_CLIENT_CERT_HEADER, not both');
  }
  if (!Object.values(headers).some(Boolean)) {
    if (e.OPAMP_REQUIRE_CLIENT_IDENTITY) {
      throw new Error('invalid configuration: OPAMP_REQUIRE_CLIENT_IDENTITY needs OPAMP_CLIENT_IDENTITY_HEADER or a client certificate header');
    }
    return null;
  }
  return {
    header: e.OPAMP_CLIENT_IDENTITY_HEADER,
    fingerprintHeader: e.OPAMP_CLIENT_CERT_FINGERPRINT_HEADER,
    certificateHeader: e.OPAMP_CLIENT_CERT_HEADER,
    trustedProxies: e.OPAMP_TRUSTED_PROXIES,
    required: e.OPAMP_REQUIRE_CLIENT_IDENTITY,
  };
}
