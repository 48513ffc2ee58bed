/**
 * Package files uploaded to this server, content-addressed per tenant, in
 * PostgreSQL (migration 0200): rows of PACKAGE_BLOB_CHUNK_BYTES keyed by the
 * blob and the chunk number. Chosen over a filesystem because it works the
 * same in both modes (PGlite embedded, the shared PostgreSQL distributed)
 * with any number of gateways and no shared disk, and is backed up with the
 * rest of the desired state.
 *
 * An upload streams in: at most one chunk is held in memory, the SHA-256 is
 * computed while the rows are written, and the blob takes its hash only when
 * the last byte is in (until then no reader can find it). A read fetches one
 * chunk per query, only those the byte range needs.
 *
 * Collection (collectUnreferenced): a blob that no package file names and
 * nobody used for the grace period goes, with its chunks. Use is recorded in
 * last_used_at (migration 0260): by the upload that writes or finds it, by the
 * registration of a version that names it (in that transaction, so a sweep
 * running at the same moment re-checks the row and keeps it), and by reads,
 * at most every PACKAGE_BLOB_TOUCH_MS per blob and process, so a download in
 * progress keeps its blob as long as the grace exceeds that interval.
 */
import { createHash } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from './sql-database';
import { PACKAGE_BLOB_CHUNK_BYTES, PACKAGE_BLOB_TOUCH_MS, PACKAGE_BLOB_TOUCHES_REMEMBERED, PACKAGE_UPLOAD_ABANDONED_MS } from './store-limits';

export interface StoredPackageBlob {
  blobId: string;
  sha256: Buffer;
  sizeBytes: number;
  /** The tenant already had these bytes: the upload was dropped and the existing blob kept. */
  existed: boolean;
}

/** An upload larger than it may be; nothing of it is kept. */
export class PackageBlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`package file is larger than ${maxBytes} bytes`);
    this.name = 'PackageBlobTooLargeError';
  }
}

/** What serving a download needs: the blob's size and its bytes by range (the gateway's read side). */
export interface PackageBlobReader {
  /** The tenant's complete blob with this SHA-256, or null. */
  stat(tenantId: string, sha256: Buffer): Promise<{ blobId: string; sizeBytes: number } | null>;
  /** Bytes `start`..`endInclusive` of a blob, a chunk (or its part) at a time. */
  read(blobId: string, start: number, endInclusive: number): AsyncIterable<Buffer>;
}

/** What one collection pass removed. */
export interface CollectedPackageBlobs {
  blobs: number;
  bytes: number;
}

export interface PackageBlobStore extends PackageBlobReader {
  put(tenantId: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredPackageBlob>;
  /**
   * Records that a version being registered names this blob, inside the
   * registration's transaction: false when the tenant has no such complete
   * blob (never uploaded, or collected meanwhile).
   */
  claim(tx: SqlExecutor, tenantId: string, sha256: Buffer): Promise<boolean>;
  /** Removes blobs no package file names and nobody used for `graceMs` (incomplete uploads included). */
  collectUnreferenced(graceMs: number): Promise<CollectedPackageBlobs>;
}

function bytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex');
  throw new Error('not a bytea value');
}

export class SqlPackageBlobStore implements PackageBlobStore {
  /** When this process last recorded each blob's use (read or written). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly chunkBytes: number = PACKAGE_BLOB_CHUNK_BYTES,
    private readonly touchEveryMs: number = PACKAGE_BLOB_TOUCH_MS,
  ) {}

  async put(tenantId: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredPackageBlob> {
    // What uploads that broke off with their process left behind (a failed upload removes its own rows).
    await this.db.query(`DELETE FROM package_blobs WHERE tenant_id = $1 AND sha256 IS NULL AND created_at < now() - make_interval(secs => $2)`, [tenantId, PACKAGE_UPLOAD_ABANDONED_MS / 1000]);
    const { rows } = await this.db.query(`INSERT INTO package_blobs (tenant_id) VALUES ($1) RETURNING id`, [tenantId]);
    const blobId = String(rows[0]['id']);
    const hash = createHash('sha256');
    let size = 0;
    let chunk = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (all: boolean) => {
      while (pendingBytes >= this.chunkBytes || (all && pendingBytes > 0)) {
        const joined = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        const row = joined.subarray(0, Math.min(this.chunkBytes, joined.length));
        const rest = joined.subarray(row.length);
        await this.db.query(`INSERT INTO package_blob_chunks (blob_id, chunk, data) VALUES ($1, $2, $3)`, [blobId, chunk++, row]);
        await this.touch(blobId);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
    };
    try {
      for await (const part of source) {
        size += part.byteLength;
        if (size > maxBytes) throw new PackageBlobTooLargeError(maxBytes);
        const buf = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
        hash.update(buf);
        // Copied: the source may reuse its buffer once we ask for the next part.
        pending.push(Buffer.from(buf));
        pendingBytes += buf.length;
        if (pendingBytes >= this.chunkBytes) await flush(false);
      }
      await flush(true);
      const sha256 = hash.digest();
      const existing = await this.stat(tenantId, sha256);
      if (existing) {
        // Found again: used now, so it outlives the grace until its version is registered.
        await this.db.query(`UPDATE package_blobs SET last_used_at = now() WHERE id = $1`, [existing.blobId]);
        await this.drop(blobId);
        return { blobId: existing.blobId, sha256, sizeBytes: existing.sizeBytes, existed: true };
      }
      try {
        await this.db.query(`UPDATE package_blobs SET sha256 = $2, size_bytes = $3 WHERE id = $1`, [blobId, sha256, size]);
      } catch (err) {
        // The same bytes finished uploading meanwhile: keep theirs.
        const raced = await this.stat(tenantId, sha256);
        if (!raced) throw err;
        await this.drop(blobId);
        return { blobId: raced.blobId, sha256, sizeBytes: raced.sizeBytes, existed: true };
      }
      return { blobId, sha256, sizeBytes: size, existed: false };
    } catch (err) {
      await this.drop(blobId).catch(() => undefined);
      throw err;
    }
  }

  async stat(tenantId: string, sha256: Buffer): Promise<{ blobId: string; sizeBytes: number } | null> {
    const { rows } = await this.db.query(`SELECT id, size_bytes FROM package_blobs WHERE tenant_id = $1 AND sha256 = $2`, [tenantId, sha256]);
    if (rows.length === 0) return null;
    return { blobId: String(rows[0]['id']), sizeBytes: Number(rows[0]['size_bytes']) };
  }

  async *read(blobId: string, start: number, endInclusive: number): AsyncIterable<Buffer> {
    if (endInclusive < start) return;
    const first = Math.floor(start / this.chunkBytes);
    const last = Math.floor(endInclusive / this.chunkBytes);
    for (let n = first; n <= last; n++) {
      await this.touch(blobId);
      const { rows } = await this.db.query(`SELECT data FROM package_blob_chunks WHERE blob_id = $1 AND chunk = $2`, [blobId, n]);
      if (rows.length === 0) throw new Error(`package blob ${blobId} lacks chunk ${n}`);
      const data = bytes(rows[0]['data']);
      const base = n * this.chunkBytes;
      const from = Math.max(0, start - base);
      const to = Math.min(data.length, endInclusive - base + 1);
      yield data.subarray(from, to);
    }
  }

  async claim(tx: SqlExecutor, tenantId: string, sha256: Buffer): Promise<boolean> {
    // A row update, not a lock: a collection's DELETE waiting on this row re-reads last_used_at and keeps the blob.
    const { rows } = await tx.query(`UPDATE package_blobs SET last_used_at = now() WHERE tenant_id = $1 AND sha256 = $2 RETURNING id`, [tenantId, sha256]);
    return rows.length > 0;
  }

  async collectUnreferenced(graceMs: number): Promise<CollectedPackageBlobs> {
    const { rows } = await this.db.query(
      `DELETE FROM package_blobs b
        WHERE b.last_used_at < now() - make_interval(secs => $1)
          AND (b.sha256 IS NULL
               OR NOT EXISTS (SELECT 1 FROM package_files f WHERE f.tenant_id = b.tenant_id AND f.source = 'upload' AND f.sha256 = b.sha256))
        RETURNING b.id, b.size_bytes`,
      [graceMs / 1000],
    );
    for (const r of rows) this.touched.delete(String(r['id']));
    return { blobs: rows.length, bytes: rows.reduce((sum, r) => sum + Number(r['size_bytes']), 0) };
  }

  /** Records the blob's use, at most every touchEveryMs per blob from this process; a failure costs only the record. */
  private async touch(blobId: string): Promise<void> {
    const now = Date.now();
    const last = this.touched.get(blobId);
    if (last !== undefined && now - last < this.touchEveryMs) return;
    this.touched.set(blobId, now);
    if (this.touched.size > PACKAGE_BLOB_TOUCHES_REMEMBERED) this.forgetOldTouches(now);
    await this.db.query(`UPDATE package_blobs SET last_used_at = now() WHERE id = $1`, [blobId]).catch(() => this.touched.delete(blobId));
  }

  private forgetOldTouches(now: number): void {
    for (const [id, at] of this.touched) if (now - at >= this.touchEveryMs) this.touched.delete(id);
  }

  private async drop(blobId: string): Promise<void> {
    await this.db.query(`DELETE FROM package_blobs WHERE id = $1`, [blobId]);
  }
}
