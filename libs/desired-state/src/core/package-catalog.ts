/**
 * The package catalog's rules, without I/O: what a package, a version and a
 * version's files may be (refused with a clear INVALID_ARGUMENT otherwise),
 * which file an agent's platform gets, and whether bytes match the hash a
 * version names.
 *
 * A platform is the agent description's `os.type` and `host.arch` (the
 * OpenTelemetry semantic conventions' values: linux, windows, darwin;
 * amd64, arm64, ...). A file may say "any" for either, for builds that run
 * everywhere (a script, a JVM addon); the most specific file wins.
 */
import { checkResourceName } from './configuration';
import { echo, invalidArgument } from './errors';
import { MAX_ASSIGNMENT_PACKAGES, MAX_PACKAGE_FILES, MAX_PACKAGE_SIGNATURE_BYTES, MAX_PACKAGE_URL_CHARS, MAX_PACKAGE_VERSION_CHARS } from './limits';

export type PackageKind = 'agent' | 'top_level' | 'addon';

/** The API's enum names and the stored kinds. */
export const PACKAGE_KINDS: Readonly<Record<string, PackageKind>> = {
  PACKAGE_KIND_AGENT: 'agent',
  PACKAGE_KIND_TOP_LEVEL: 'top_level',
  PACKAGE_KIND_ADDON: 'addon',
};

export function packageKindName(kind: string): string {
  return Object.keys(PACKAGE_KINDS).find((k) => PACKAGE_KINDS[k] === kind) ?? 'PACKAGE_KIND_UNSPECIFIED';
}

export const ANY_PLATFORM = 'any';

export interface Platform {
  os: string;
  arch: string;
}

export interface PackageFileSpec extends Platform {
  sha256: Buffer;
  signature: Buffer | null;
  /** The operator's URL; null for a file uploaded to this server. */
  url: string | null;
}

const VERSION = /^[A-Za-z0-9](?:[A-Za-z0-9._+~-]*[A-Za-z0-9])?$/;
const PLATFORM_PART = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function parsePackageKind(v: unknown): PackageKind {
  const kind = typeof v === 'string' ? PACKAGE_KINDS[v] : undefined;
  if (!kind) throw invalidArgument(`package.kind must be one of ${Object.keys(PACKAGE_KINDS).join(', ')}, got ${echo(v)}`);
  return kind;
}

export function checkPackageVersion(version: string): void {
  if (typeof version !== 'string' || version.length > MAX_PACKAGE_VERSION_CHARS || !VERSION.test(version)) {
    throw invalidArgument(
      `version ${echo(version)} is invalid: 1-${MAX_PACKAGE_VERSION_CHARS} characters, letters, digits, '.', '_', '-', '+' or '~', starting and ending with a letter or digit`,
    );
  }
}

/** A SHA-256 given as 64 hex digits (either case). */
export function parseSha256Hex(v: unknown, field: string): Buffer {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (!SHA256_HEX.test(s)) throw invalidArgument(`${field} must be a SHA-256 as 64 hex digits, got ${echo(v)}`);
  return Buffer.from(s, 'hex');
}

function platformPart(v: unknown, field: string): string {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (!PLATFORM_PART.test(s)) throw invalidArgument(`${field} must be 1-32 lowercase letters, digits, '_', '.' or '-' (as os.type / host.arch report it, or "any"), got ${echo(v)}`);
  return s;
}

function fileUrl(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_PACKAGE_URL_CHARS) throw invalidArgument(`${field} must be a URL of at most ${MAX_PACKAGE_URL_CHARS} characters`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalidArgument(`${field} must be an absolute http or https URL, got ${echo(v)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidArgument(`${field} must use http or https, got ${echo(u.protocol)}`);
  if (u.username || u.password) throw invalidArgument(`${field} must not carry credentials (agents would see them)`);
  return u.toString();
}

/** The files of a version as the API sends them: one per platform, each with its hash, at most MAX_PACKAGE_FILES. */
export function parsePackageFiles(v: unknown): PackageFileSpec[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidArgument('package_version.files must name at least one file');
  if (v.length > MAX_PACKAGE_FILES) throw invalidArgument(`a package version may have at most ${MAX_PACKAGE_FILES} files, got ${v.length}`);
  const seen = new Set<string>();
  return v.map((raw, i) => {
    const at = `package_version.files[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`${at} must be an object`);
    const f = raw as Record<string, unknown>;
    const os = platformPart(f['os'], `${at}.os`);
    const arch = platformPart(f['arch'], `${at}.arch`);
    const key = `${os}/${arch}`;
    if (seen.has(key)) throw invalidArgument(`${at}: a version has one file per platform, and ${key} comes twice`);
    seen.add(key);
    const signature = toBytes(f['signature']);
    if (signature && signature.length > MAX_PACKAGE_SIGNATURE_BYTES) throw invalidArgument(`${at}.signature is larger than ${MAX_PACKAGE_SIGNATURE_BYTES} bytes`);
    return { os, arch, sha256: parseSha256Hex(f['sha256'], `${at}.sha256`), signature: signature && signature.length > 0 ? signature : null, url: fileUrl(f['url'], `${at}.url`) };
  });
}

function toBytes(v: unknown): Buffer | null {
  if (v === undefined || v === null || v === '') return null;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  throw invalidArgument('signature must be bytes (base64 in JSON)');
}

/** The platform an agent reports, from its description attributes; null when it does not say. */
export function platformOf(attributes: Readonly<Record<string, string>>): Platform | null {
  const os = (attributes['os.type'] ?? '').trim().toLowerCase();
  const arch = (attributes['host.arch'] ?? '').trim().toLowerCase();
  if (!os || !arch) return null;
  return { os, arch };
}

/**
 * The file of a version for a platform: its exact os/arch, else the os with
 * arch "any", else "any"/"any"; null when the version has none for it (the
 * agent is reported, and sent nothing). An agent that does not report its
 * platform gets only an "any"/"any" file.
 */
export function fileForPlatform<F extends Platform>(files: readonly F[], platform: Platform | null): F | null {
  const find = (os: string, arch: string) => files.find((f) => f.os === os && f.arch === arch) ?? null;
  if (!platform) return find(ANY_PLATFORM, ANY_PLATFORM);
  return find(platform.os, platform.arch) ?? find(platform.os, ANY_PLATFORM) ?? find(ANY_PLATFORM, platform.arch) ?? find(ANY_PLATFORM, ANY_PLATFORM);
}

/** Null when the bytes' hash is the one the version names; else why the file is refused. */
export function contentHashMismatch(expected: Buffer, actual: Buffer, what: string): string | null {
  if (expected.equals(actual)) return null;
  return `${what} has SHA-256 ${actual.toString('hex')}, not the ${expected.toString('hex')} the version names`;
}

/** A package assignment's packages: one version per package, at most MAX_ASSIGNMENT_PACKAGES. */
export function parseDesiredPackages(v: unknown, field = 'package_assignment.packages'): Array<{ packageName: string; version: string }> {
  if (!Array.isArray(v) || v.length === 0) throw invalidArgument(`${field} must name at least one package version`);
  if (v.length > MAX_ASSIGNMENT_PACKAGES) throw invalidArgument(`a package assignment may name at most ${MAX_ASSIGNMENT_PACKAGES} packages, got ${v.length}`);
  const seen = new Set<string>();
  return v.map((raw, i) => {
    const p = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const packageName = typeof p['packageName'] === 'string' ? p['packageName'] : '';
    if (!packageName) throw invalidArgument(`${field}[${i}].package_name is required`);
    checkResourceName(packageName, 'package');
    const version = typeof p['version'] === 'string' ? p['version'] : '';
    checkPackageVersion(version);
    if (seen.has(packageName)) throw invalidArgument(`${field}: '${packageName}' comes twice (one version per package)`);
    seen.add(packageName);
    return { packageName, version };
  });
}
