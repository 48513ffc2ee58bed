/**
 * The download address of a package file uploaded to this server, as
 * config-service offers it (DownloadableFile.download_url) and the gateways
 * check it: the file's SHA-256 in the path, the tenant and an expiry in the
 * query, and an HMAC-SHA256 of the three under the package URL key every
 * config-service and gateway shares. A signed address works for any client
 * (the opamp-go package syncer sends no credential of its own), speaks for
 * one tenant's one file only, and is refused once it expired; a stolen one is
 * worth one file for that long.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How long a signed address stays valid once offered: long enough for an
 * agent that retries a download through a staged rollout, short enough that
 * one leaked is not a standing grant. An offer repeated later is signed anew.
 */
export const PACKAGE_URL_TTL_S = 24 * 3600;

/** Path prefix on the gateway's agent port; the SHA-256 in hex follows. */
export const PACKAGE_FILES_PATH = '/v1/packages/files/';

export interface PackageDownloadGrant {
  tenantId: string;
  sha256Hex: string;
  /** Seconds since the epoch after which the address is refused. */
  expiresAtS: number;
}

function mac(key: Buffer, g: PackageDownloadGrant): string {
  return createHmac('sha256', key).update(`opamp-package-download\n${g.tenantId}\n${g.sha256Hex.toLowerCase()}\n${g.expiresAtS}`).digest('base64url');
}

/** `tenant=..&expires=..&sig=..` for the grant (append to `<base>/v1/packages/files/<sha256>?`). */
export function signPackageDownload(key: Buffer, g: PackageDownloadGrant): string {
  return new URLSearchParams({ tenant: g.tenantId, expires: String(g.expiresAtS), sig: mac(key, g) }).toString();
}

/** The whole download URL under a base such as `https://gw.example.com` (no trailing path). */
export function packageDownloadUrl(base: string, key: Buffer, g: PackageDownloadGrant): string {
  return `${base.replace(/\/+$/, '')}${PACKAGE_FILES_PATH}${g.sha256Hex.toLowerCase()}?${signPackageDownload(key, g)}`;
}

/**
 * The tenant a signed query grants this file to, or why not. `query` is the
 * raw query string (without `?`).
 */
export function verifyPackageDownload(key: Buffer, sha256Hex: string, query: string, nowMs: number): { tenantId: string } | { refused: string } {
  const q = new URLSearchParams(query);
  const tenantId = q.get('tenant') ?? '';
  const expires = q.get('expires') ?? '';
  const sig = q.get('sig') ?? '';
  if (!tenantId || !/^\d{1,12}$/.test(expires) || !sig) return { refused: 'missing signature' };
  const expected = Buffer.from(mac(key, { tenantId, sha256Hex, expiresAtS: Number(expires) }));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'bad signature' };
  if (Number(expires) * 1000 <= nowMs) return { refused: 'expired' };
  return { tenantId };
}

/**
 * A package URL key derived from another secret of the same process (the
 * embedded server's credential key), so one process needs no second secret;
 * the derivation keeps the two keys' uses apart.
 */
export function derivePackageUrlKey(secret: Buffer): Buffer {
  return createHmac('sha256', secret).update('opamp package download url key').digest();
}
