/**
 * Who signs agents' certificates. CertificateSigner is the seam for an
 * external CA (an HTTP signer would be another implementation); LocalCaSigner
 * signs with a CA key in this process, whether the server generated it (the
 * tenant's built-in CA, its key opened from the database) or the operator
 * provides it (a CA certificate and key in files).
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CertificateRefusal } from './certificate-refusal';
import { importSigningKey, keyTypeOfPrivateKey, keyTypeOfSpki, signingAlgorithmOf, type KeyType } from './key-algorithm';
import { nativeCrypto } from './native-crypto';
import { signRevocationList, type RevokedSerial, type SignedRevocationList } from './revocation-list';
import { x509, type CryptoKey } from './x509-runtime';

/** A certificate to sign, with everything decided (subject, validity, extensions). */
export interface CertificateToSign {
  readonly subject: Array<Record<string, string[]>>;
  readonly publicKey: x509.PublicKey;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: x509.Extension[];
}

export interface CertificateSigner {
  /** The issuing CA's certificate (PEM), sent to agents as ca_cert. */
  readonly caCertificatePem: string;
  readonly caNotAfter: Date;
  /** The CA's key identifier extension (AKI) for what it signs. */
  authorityKeyIdentifier(): Promise<x509.Extension>;
  sign(certificate: CertificateToSign): Promise<x509.X509Certificate>;
}

const BASIC_CONSTRAINTS_OID = '2.5.29.19';

export class LocalCaSigner implements CertificateSigner {
  readonly caCertificatePem: string;
  readonly caNotAfter: Date;
  private aki: Promise<x509.Extension> | null = null;

  private constructor(
    private readonly ca: x509.X509Certificate,
    private readonly key: CryptoKey,
    readonly keyType: KeyType,
  ) {
    this.caCertificatePem = ca.toString('pem');
    this.caNotAfter = ca.notAfter;
  }

  /** A CA certificate (PEM) and its PKCS#8 key of a known type (the built-in CA, key opened from the store). */
  static async fromPkcs8(caCertificatePem: string, keyType: KeyType, pkcs8: Uint8Array): Promise<LocalCaSigner> {
    return new LocalCaSigner(new x509.X509Certificate(caCertificatePem), await importSigningKey(keyType, pkcs8), keyType);
  }

  /**
   * An operator's CA: its certificate and private key (PEM: PKCS#8, or the
   * traditional EC/RSA forms). Refused unless the certificate is a CA's, the key
   * is its key, and it has not expired.
   */
  static async fromOperatorPem(caCertificatePem: string, privateKeyPem: string, now = new Date()): Promise<LocalCaSigner> {
    let ca: x509.X509Certificate;
    let pkcs8: Buffer;
    try {
      ca = new x509.X509Certificate(caCertificatePem);
      pkcs8 = createPrivateKey(privateKeyPem).export({ format: 'der', type: 'pkcs8' }) as Buffer;
    } catch {
      throw new CertificateRefusal('bad_ca', 'the CA certificate or key file is not a PEM certificate / private key');
    }
    const constraints = ca.getExtension(BASIC_CONSTRAINTS_OID);
    if (!(constraints instanceof x509.BasicConstraintsExtension) || !constraints.ca) throw new CertificateRefusal('bad_ca', 'the certificate is not a CA certificate (basicConstraints CA:TRUE)');
    const keyType = keyTypeOfPrivateKey(pkcs8);
    if (keyType === null) throw new CertificateRefusal('bad_ca', 'the CA key is of a type this server does not sign with');
    const certKey = Buffer.from(ca.publicKey.rawData);
    const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    if (!certKey.equals(spki) || keyTypeOfSpki(certKey).type !== keyType) throw new CertificateRefusal('bad_ca', 'the key does not belong to the CA certificate');
    if (ca.notAfter.getTime() <= now.getTime()) throw new CertificateRefusal('bad_ca', 'the CA certificate has expired');
    return new LocalCaSigner(ca, await importSigningKey(keyType, pkcs8), keyType);
  }

  static async fromOperatorFiles(certificateFile: string, privateKeyFile: string, now = new Date()): Promise<LocalCaSigner> {
    return LocalCaSigner.fromOperatorPem(readFileSync(certificateFile, 'utf8'), readFileSync(privateKeyFile, 'utf8'), now);
  }

  /** SHA-256 of the CA certificate's DER, lowercase hex. */
  get caFingerprintHex(): string {
    return createHash('sha256').update(Buffer.from(this.ca.rawData)).digest('hex');
  }

  authorityKeyIdentifier(): Promise<x509.Extension> {
    this.aki ??= x509.AuthorityKeyIdentifierExtension.create(this.ca.publicKey, false, nativeCrypto);
    return this.aki;
  }

  /** The CA's CRL naming these revoked certificates, valid for `validityHours` (revocation-list.ts). */
  revocationList(revoked: readonly RevokedSerial[], validityHours: number, nowMs = Date.now()): Promise<SignedRevocationList> {
    return signRevocationList({ certificatePem: this.caCertificatePem, keyType: this.keyType, signingKey: this.key }, revoked, validityHours, nowMs);
  }

  async sign(c: CertificateToSign): Promise<x509.X509Certificate> {
    return x509.X509CertificateGenerator.create({
      subject: c.subject,
      issuer: this.ca.subjectName,
      publicKey: c.publicKey,
      signingKey: this.key,
      signingAlgorithm: signingAlgorithmOf(this.keyType),
      serialNumber: c.serialHex,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      extensions: c.extensions,
    }, nativeCrypto);
  }
}
