/**
 * Verifies a package file the operator references by URL, once, when its
 * version is registered: downloads it streaming (nothing kept, only hashed),
 * refuses it beyond the size limit or the timeout, and answers its SHA-256
 * and size. The version then names the hash agents check the file against.
 * Redirects are followed by hand, at most MAX_PACKAGE_URL_REDIRECTS, and only
 * to the same host and within the allow-list: a store that sends the check
 * elsewhere is refused, as agents would be sent there too.
 */
import { createHash } from 'node:crypto';
import { DesiredStateError, echo, invalidArgument, MAX_PACKAGE_URL_REDIRECTS, type PackageUrlAllowList } from '../core';

export interface FetchedFile {
  sha256: Buffer;
  sizeBytes: number;
}

export async function fetchPackageFile(url: string, limits: { maxBytes: number; timeoutMs: number; allow?: PackageUrlAllowList }): Promise<FetchedFile> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), limits.timeoutMs);
  const shown = echo(url);
  try {
    let res: Response | null = null;
    let at = new URL(url);
    for (let hop = 0; ; hop++) {
      try {
        res = await fetch(at, { signal: abort.signal, redirect: 'manual' });
      } catch (err) {
        throw failed(abort.signal.aborted ? `the download of ${shown} took longer than ${limits.timeoutMs} ms` : `${shown} could not be downloaded (${(err as Error).message})`);
      }
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location === null) break;
      await res.body?.cancel().catch(() => undefined);
      if (hop >= MAX_PACKAGE_URL_REDIRECTS) throw invalidArgument(`${shown} redirects more than ${MAX_PACKAGE_URL_REDIRECTS} times`);
      const next = new URL(location, at);
      if (next.host !== at.host || next.protocol !== at.protocol || (limits.allow && !limits.allow.allows(next))) {
        throw invalidArgument(`${shown} redirects to ${echo(next.origin)}${next.host === at.host ? ' outside the allowed URL prefixes' : ', another host'}: give the file's final URL`);
      }
      at = next;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw failed(`${shown} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > limits.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge(shown, limits.maxBytes);
    }
    const hash = createHash('sha256');
    let size = 0;
    const reader = res.body?.getReader();
    if (reader) {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.byteLength;
          if (size > limits.maxBytes) {
            await reader.cancel().catch(() => undefined);
            throw tooLarge(shown, limits.maxBytes);
          }
          hash.update(value);
        }
      } catch (err) {
        if (err instanceof DesiredStateError) throw err;
        throw failed(abort.signal.aborted ? `the download of ${shown} took longer than ${limits.timeoutMs} ms` : `the download of ${shown} broke off (${(err as Error).message})`);
      }
    }
    return { sha256: hash.digest(), sizeBytes: size };
  } finally {
    clearTimeout(timer);
  }
}

function failed(message: string): DesiredStateError {
  // The file cannot be verified now: the caller's input may be right, the store is not reachable.
  return new DesiredStateError('FAILED_PRECONDITION', `${message}: the file's hash cannot be verified`);
}

function tooLarge(url: string, maxBytes: number): DesiredStateError {
  return invalidArgument(`${url} is larger than ${maxBytes} bytes (the package file limit)`);
}
