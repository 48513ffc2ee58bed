/**
 * Certificates for tests of mutual TLS, made with a well-kept X.509 library
 * (@peculiar/x509 on Node's WebCrypto), never by hand: certificate
 * authorities, client certificates for an agent (CN = instance_uid hex,
 * O = tenant, SAN URI urn:opamp:tenant:<t>:agent:<uid>), server certificates
 * for a loopback address, expired ones, and CRLs. ECDSA P-256 throughout.
 */
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** The library's provider type: the DOM's Crypto, which Node's WebCrypto is (this project's lib settings leave the DOM types out). */
type ProviderCrypto = x509.CryptoProvider extends Map<string, infer C> ? C : never;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as ProviderCrypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

export interface TestCa {
  readonly name: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  /** The CA certificate, PEM. */
  readonly pem: string;
}

export interface TestCertificate {
  /** The certificate, PEM. */
  readonly pem: string;
  /** Its private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** Lowercase hex SHA-256 of the DER: the key of its credential directory entry. */
  readonly fingerprint: string;
  /** Hex, as a CRL lists it. */
  readonly serialNumber: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export async function createTestCa(name: string, validity: Validity = {}): Promise<TestCa> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: validity.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfter: validity.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, certificate, keys, pem: pemLines(certificate.toString('pem')) };
}

/** An agent's client certificate, issued by `ca` to `uidHex` of `tenantId` (clientAuth). */
export async function issueClientCertificate(ca: TestCa, agent: { tenantId: string; uidHex: string }, validity: Validity = {}): Promise<TestCertificate> {
  return issue(ca, {
    subject: `CN=${agent.uidHex}, O=${agent.tenantId}`,
    san: [{ type: 'url', value: `urn:opamp:tenant:${agent.tenantId}:agent:${agent.uidHex}` }],
    usage: x509.ExtendedKeyUsage.clientAuth,
    validity,
  });
}

/** A server certificate for a loopback address (serverAuth). */
export async function issueServerCertificate(ca: TestCa, ip = '127.0.0.1'): Promise<TestCertificate> {
  return issue(ca, { subject: `CN=${ip}`, san: [{ type: 'ip', value: ip }], usage: x509.ExtendedKeyUsage.serverAuth, validity: {} });
}

/** The CA's private key, PKCS#8 PEM: for an operator-provided CA (CreateCertificateAuthority with certificate_pem and private_key_pem). */
export async function testCaKeyPem(ca: TestCa): Promise<string> {
  return pemLines(x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', ca.keys.privateKey), 'PRIVATE KEY'));
}

/** A CRL of `ca` listing these serial numbers (none: an empty list, which a terminator still needs for each CA it trusts). */
export async function createTestCrl(ca: TestCa, revokedSerials: readonly string[] = []): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + DAY_MS),
    entries: revokedSerials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - 60_000), reason: x509.X509CrlReason.keyCompromise })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)],
    signingAlgorithm: ALG,
    signingKey: ca.keys.privateKey,
  });
  // OpenSSL (and so HAProxy) reads CRLs under the "X509 CRL" PEM label only.
  return pemLines(x509.PemConverter.encode(crl.rawData, 'X509 CRL'));
}

async function issue(
  ca: TestCa,
  o: { subject: string; san: x509.JsonGeneralNames; usage: x509.ExtendedKeyUsage; validity: Validity },
): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serialNumber = serial();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: o.subject,
    issuer: ca.certificate.subject,
    notBefore: o.validity.notBefore ?? new Date(Date.now() - 60 * 60_000),
    notAfter: o.validity.notAfter ?? new Date(Date.now() + 7 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([o.usage]),
      new x509.SubjectAlternativeNameExtension(o.san),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    pem: pemLines(certificate.toString('pem')),
    keyPem: pemLines(x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')),
    fingerprint: createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex'),
    serialNumber,
  };
}

/** PEM ending in a newline, so that files of several PEM blocks (a bundle, a certificate and its key) can be concatenated. */
function pemLines(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** A positive 16-byte serial number, hex. */
function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}
