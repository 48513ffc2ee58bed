/**
 * Which URLs a package version may name for its files (OPAMP_PACKAGE_URL_ALLOW):
 * registering one makes this server download it, and agents download it too,
 * so the operator lists the artifact stores they trust as URL prefixes
 * (scheme, host, port and a path prefix). Empty, the default, allows none:
 * uploads still work, and no API caller can point the server at an internal
 * address (a metadata service, an admin port) by registering a version.
 */
export class PackageUrlAllowList {
  private readonly prefixes: URL[];

  constructor(entries: readonly string[]) {
    this.prefixes = entries.map((e) => parsePrefix(e));
  }

  get empty(): boolean {
    return this.prefixes.length === 0;
  }

  /** The prefixes as given, normalised (for messages and documentation). */
  get shown(): string[] {
    return this.prefixes.map((p) => p.href);
  }

  /** Whether `url` lies under a listed prefix: same scheme, host and port, and a path starting with the prefix's at a segment boundary. */
  allows(url: URL): boolean {
    if (url.username || url.password) return false;
    return this.prefixes.some((p) => p.origin === url.origin && underPath(url.pathname, p.pathname));
  }
}

function underPath(path: string, prefix: string): boolean {
  if (prefix === '/' || path === prefix) return true;
  const dir = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(dir);
}

function parsePrefix(entry: string): URL {
  let u: URL;
  try {
    u = new URL(entry.trim());
  } catch {
    throw new Error(`package URL allow-list entry '${entry}' is not a URL (give e.g. https://artifacts.example.com/otelcol/)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`package URL allow-list entry '${entry}' must be http(s)`);
  if (u.username || u.password || u.search || u.hash) throw new Error(`package URL allow-list entry '${entry}' may name only scheme, host, port and path`);
  return u;
}
