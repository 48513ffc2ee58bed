/**
 * One package file download for a simulated agent: streamed and hashed as it
 * arrives (nothing kept: a swarm agent needs the SHA-256, not the bytes), and
 * continued after a cut connection with `Range: bytes=<received>-` and
 * `If-Range: <ETag>`. A 206 must start at the received offset; a 200 to a
 * Range request means the server sends the whole entity again, so hashing
 * starts over. A non-2xx answer ends the download at once (no retry), but a
 * 503 with Retry-After (the server's download slots are full) when the caller
 * allows `busyWaits`: it is asked again after that delay.
 */
import { createHash, type Hash } from 'node:crypto';
import { PACKAGE_DOWNLOAD_MAX_RESUMES, PACKAGE_DOWNLOAD_RESUME_DELAY_MS } from './agent-options';
import { parseRetryAfterMs } from './retry-after';

export interface DownloadedFile {
  readonly sha256: Buffer;
  readonly bytes: number;
  /** Range requests that continued it. */
  readonly resumes: number;
  /** Requests answered 200 when a Range was asked for (started over). */
  readonly restarts: number;
  /** Requests answered 503 + Retry-After that were asked again after the delay. */
  readonly busyWaits: number;
}

export interface DownloadProgress {
  readonly bytes: number;
  /** Content-Length of the whole file, when the server said. */
  readonly total: number | null;
}

export interface DownloadOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly maxResumes?: number;
  readonly resumeDelayMs?: number;
  /** 503 answers with Retry-After waited out and asked again, at most (default 0: refused). */
  readonly busyWaits?: number;
}

/** An answer that no retry changes (4xx/5xx, a Content-Range of other bytes). */
export class DownloadRefusedError extends Error {}

export async function downloadPackageFile(url: string, options: DownloadOptions): Promise<DownloadedFile> {
  const maxResumes = options.maxResumes ?? PACKAGE_DOWNLOAD_MAX_RESUMES;
  const delayMs = options.resumeDelayMs ?? PACKAGE_DOWNLOAD_RESUME_DELAY_MS;
  let hash: Hash = createHash('sha256');
  let got = 0;
  let total: number | null = null;
  let etag: string | null = null;
  let resumes = 0;
  let restarts = 0;
  let attempts = 0;
  let busyWaits = 0;
  for (;;) {
    const headers: Record<string, string> = { ...options.headers };
    if (got > 0) {
      headers['range'] = `bytes=${got}-`;
      if (etag) headers['if-range'] = etag;
    }
    try {
      const res = await fetch(url, { headers, signal: options.signal });
      if (res.status === 200) {
        if (got > 0) {
          restarts++;
          hash = createHash('sha256');
          got = 0;
        }
        const length = Number(res.headers.get('content-length') ?? NaN);
        total = Number.isFinite(length) ? length : null;
        const tag = res.headers.get('etag');
        etag = tag && !tag.startsWith('W/') ? tag : null;
      } else if (res.status === 206 && got > 0) {
        const range = res.headers.get('content-range') ?? '';
        if (!range.startsWith(`bytes ${got}-`)) {
          await res.body?.cancel().catch(() => undefined);
          throw new DownloadRefusedError(`the resumed download answered Content-Range "${range}", not from byte ${got}`);
        }
        resumes++;
      } else {
        await res.body?.cancel().catch(() => undefined);
        const waitMs = res.status === 503 ? parseRetryAfterMs(res.headers.get('retry-after')) : undefined;
        if (waitMs === undefined || busyWaits >= (options.busyWaits ?? 0)) throw new DownloadRefusedError(`the download answered HTTP ${res.status}`);
        busyWaits++;
        await pause(waitMs, options.signal);
        continue;
      }
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          got += chunk.byteLength;
          options.onProgress?.({ bytes: got, total });
        }
      }
      if (total !== null && got < total) throw new Error(`the download ended after ${got} of ${total} bytes`);
      return { sha256: hash.digest(), bytes: got, resumes, restarts, busyWaits };
    } catch (err) {
      if (err instanceof DownloadRefusedError || options.signal.aborted) throw err;
      if (attempts >= maxResumes) throw new Error(`the download broke off ${attempts + 1} times, last after ${got} bytes: ${(err as Error).message}`);
      attempts++;
      await pause(delayMs * attempts, options.signal);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted(): void {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    }
    signal.addEventListener('abort', aborted, { once: true });
  });
}
