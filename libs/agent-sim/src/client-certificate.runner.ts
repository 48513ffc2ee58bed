/**
 * Owns a simulated agent's client-certificate key (profile
 * requestClientCertificate, issue 18): an ECDSA P-256 key pair made once per
 * agent with WebCrypto, the PKCS#10 CSR for its instance uid (CN = the uid in
 * hex, as opamp-go's test agent asks) made with @peculiar/x509 like the
 * server's certificate-authority lib, and the key an offered certificate is
 * used with. The server answers the CSR with an offer whose certificate has no
 * private key (the agent keeps its own); a rotation renews the certificate for
 * the same key, so the key stays for the agent's life. Following the offer
 * (reconnect with the certificate, APPLIED / FAILED) is the connection
 * settings runner's.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export class ClientCertificateRunner {
  /** The private key (PKCS#8 PEM) the offered certificates go with; '' until the first CSR was made. */
  keyPem = '';
  private keys: webcrypto.CryptoKeyPair | undefined;

  /** A CSR (PEM bytes) for `uidHex`, made with the agent's key (created on the first call). */
  async certificateRequest(uidHex: string): Promise<Uint8Array> {
    const keys = (this.keys ??= (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: [uidHex] }],
      keys: keys as never,
      signingAlgorithm: ALGORITHM,
    });
    this.keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    return Buffer.from(csr.toString('pem'), 'utf8');
  }
}
