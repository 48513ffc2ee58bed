/**
 * Package file downloads on the agent port: GET /v1/packages/files/<sha256>.
 *
 * Who may download: a signed address (libs/contracts package-download-url.ts:
 * tenant, expiry and an HMAC under the package URL key, what config-service
 * puts in DownloadableFile.download_url, so any client can follow it), or an
 * agent's credential in Authorization / X-API-Key as on /v1/opamp. Either
 * names a tenant; only that tenant's files are found.
 *
 * How: streamed from the package file source a piece at a time (never a
 * whole file in memory) with uWS backpressure; one `Range` (206, 416 outside
 * the file), `ETag` = the content hash (`If-None-Match` -> 304, `If-Range`).
 * Per gateway at most `maxConcurrent` downloads (beyond: 503 + Retry-After)
 * sharing `bytesPerSecond`: waiting for bandwidth is a timer, never a busy
 * loop, so the heartbeats of other agents on this event loop are not delayed.
 */
import type * as uWS from 'uWebSockets.js';
import { PACKAGE_FILES_PATH, verifyPackageDownload } from '@opamp/contracts';
import { decideRange, notModified } from './byte-range';
import { EDGE_DEFAULTS } from './edge-defaults';
import type { EdgeAdmission } from './edge-admission';
import type { EdgeLog } from './edge-connection';
import type { EdgeMetrics } from './edge-metrics';
import type { AgentAuthenticator } from './edge-options';
import { TokenBucket } from './token-bucket';

/** Where the bytes of uploaded package files come from (libs/store SqlPackageBlobStore, or a read-only view of it). */
export interface PackageFileSource {
  stat(tenantId: string, sha256: Buffer): Promise<{ blobId: string; sizeBytes: number } | null>;
  read(blobId: string, start: number, endInclusive: number): AsyncIterable<Buffer>;
}

export interface PackageDownloadOptions {
  /** The key signed addresses are checked with; null: only agents' credentials are accepted. */
  urlKey: Buffer | null;
  maxConcurrent: number;
  bytesPerSecond: number;
  pieceBytes?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

interface DownloadState {
  aborted: boolean;
  /** Resolves a write waiting for the socket to drain. */
  wake: (() => void) | null;
}

export class PackageDownloadRoute {
  private active = 0;
  private readonly bandwidth: TokenBucket;
  private readonly pieceBytes: number;

  constructor(
    private readonly options: PackageDownloadOptions,
    private readonly source: PackageFileSource,
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: EdgeAdmission,
    private readonly metrics: EdgeMetrics,
    private readonly log: EdgeLog,
    private readonly now: () => number,
  ) {
    this.pieceBytes = options.pieceBytes ?? EDGE_DEFAULTS.packagePieceBytes;
    // A second's worth at most, and never less than a piece (a piece must fit the bucket).
    this.bandwidth = new TokenBucket(options.bytesPerSecond, Math.max(options.bytesPerSecond, this.pieceBytes), now);
    metrics.packageDownloadsCapacity.set(options.maxConcurrent);
    metrics.packageBandwidthLimit.set(options.bytesPerSecond);
  }

  /** Downloads in flight on this gateway. */
  get inFlight(): number {
    return this.active;
  }

  register(app: uWS.TemplatedApp): void {
    app.get(`${PACKAGE_FILES_PATH}:sha256`, (res, req) => this.onGet(res, req));
  }

  private onGet(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    // Everything from the request is read now: it is gone after the first await.
    const shaHex = req.getParameter(0).toLowerCase();
    const query = req.getQuery() ?? '';
    const authorization = req.getHeader('authorization');
    const apiKey = req.getHeader('x-api-key');
    const range = req.getHeader('range');
    const ifRange = req.getHeader('if-range');
    const ifNoneMatch = req.getHeader('if-none-match');
    if (!SHA256_HEX.test(shaHex)) {
      this.metrics.packageDownloads.inc({ result: 'not_found' });
      res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end('no such package file\n');
      return;
    }
    const tenantId = this.tenantOf(shaHex, query, authorization, apiKey);
    if (!tenantId) {
      this.metrics.reject('unauthorized');
      this.metrics.packageDownloads.inc({ result: 'unauthorized' });
      res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Bearer').writeHeader('Content-Type', 'text/plain').end('unauthorized\n');
      return;
    }
    if (this.admission.draining || this.active >= this.options.maxConcurrent) {
      this.metrics.packageDownloads.inc({ result: 'busy' });
      this.admission.refuseOverloaded(res, this.admission.draining ? 'draining' : 'overloaded');
      return;
    }
    this.active++;
    this.metrics.packageDownloadsActive.set(this.active);
    const state: DownloadState = { aborted: false, wake: null };
    res.onAborted(() => {
      state.aborted = true;
      state.wake?.();
    });
    const etag = `"${shaHex}"`;
    this.serve(res, state, tenantId, shaHex, etag, range, ifRange, ifNoneMatch)
      .catch((err: unknown) => {
        this.metrics.packageDownloads.inc({ result: 'error' });
        this.log('error', 'package download failed', { error: String(err) });
        // Headers may be out already: the client sees a cut connection and resumes with Range.
        if (!state.aborted) res.cork(() => res.close());
      })
      .finally(() => {
        this.active--;
        this.metrics.packageDownloadsActive.set(this.active);
      });
  }

  private tenantOf(shaHex: string, query: string, authorization: string, apiKey: string): string | null {
    if (query.includes('sig=')) {
      if (!this.options.urlKey) return null;
      const grant = verifyPackageDownload(this.options.urlKey, shaHex, query, this.now());
      return 'tenantId' in grant ? grant.tenantId : null;
    }
    return this.authenticator.authenticate(authorization, apiKey)?.tenantId ?? null;
  }

  private async serve(
    res: uWS.HttpResponse,
    state: DownloadState,
    tenantId: string,
    shaHex: string,
    etag: string,
    rangeHeader: string,
    ifRange: string,
    ifNoneMatch: string,
  ): Promise<void> {
    const blob = await this.source.stat(tenantId, Buffer.from(shaHex, 'hex'));
    if (state.aborted) return;
    if (!blob) {
      this.metrics.packageDownloads.inc({ result: 'not_found' });
      res.cork(() => res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain').end('no such package file\n'));
      return;
    }
    const size = blob.sizeBytes;
    if (notModified(ifNoneMatch, etag)) {
      this.metrics.packageDownloads.inc({ result: 'not_modified' });
      res.cork(() => res.writeStatus('304 Not Modified').writeHeader('ETag', etag).endWithoutBody(0));
      return;
    }
    const range = decideRange(rangeHeader, size, ifRange, etag);
    if ('unsatisfiable' in range) {
      this.metrics.packageDownloads.inc({ result: 'unsatisfiable' });
      res.cork(() => res.writeStatus('416 Range Not Satisfiable').writeHeader('Content-Range', `bytes */${size}`).writeHeader('ETag', etag).end());
      return;
    }
    const partial = !('whole' in range);
    const start = partial ? range.start : 0;
    const end = partial ? range.end : size - 1;
    const total = end - start + 1;
    res.cork(() => {
      res.writeStatus(partial ? '206 Partial Content' : '200 OK');
      res.writeHeader('Content-Type', 'application/octet-stream');
      res.writeHeader('ETag', etag);
      res.writeHeader('Accept-Ranges', 'bytes');
      res.writeHeader('Cache-Control', 'private, max-age=31536000, immutable');
      if (partial) res.writeHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    });
    if (total <= 0) {
      res.cork(() => res.end());
      this.metrics.packageDownloads.inc({ result: partial ? 'partial' : 'complete' });
      return;
    }
    for await (const chunk of this.source.read(blob.blobId, start, end)) {
      for (let at = 0; at < chunk.length; at += this.pieceBytes) {
        const piece = chunk.subarray(at, Math.min(chunk.length, at + this.pieceBytes));
        await this.bandwidthFor(piece.length);
        if (state.aborted) return this.cut();
        await this.write(res, state, piece, total);
        if (state.aborted) return this.cut();
        this.metrics.packageBytesOut.inc(piece.length);
      }
    }
    this.metrics.packageDownloads.inc({ result: partial ? 'partial' : 'complete' });
  }

  private cut(): void {
    this.metrics.packageDownloads.inc({ result: 'aborted' });
  }

  private async bandwidthFor(bytes: number): Promise<void> {
    while (!this.bandwidth.tryTake(bytes)) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, this.bandwidth.msUntilNextToken(bytes))));
    }
  }

  /** Writes one piece of a body of `total` bytes; resolves once uWS took all of it (or the client went). */
  private write(res: uWS.HttpResponse, state: DownloadState, piece: Buffer, total: number): Promise<void> {
    let startOffset = 0;
    let ok = false;
    res.cork(() => {
      startOffset = res.getWriteOffset();
      [ok] = res.tryEnd(piece, total);
    });
    if (ok) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // The client going away ends the wait too (onWritable would never fire).
      state.wake = resolve;
      res.onWritable((offset) => {
        const [written, done] = res.tryEnd(piece.subarray(offset - startOffset), total);
        if (written || done) {
          state.wake = null;
          resolve();
        }
        return written;
      });
    });
  }
}
