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
 */
import { createHash } from 'node:crypto';
import type { SqlDatabase } from './sql-database';
import { PACKAGE_BLOB_CHUNK_BYTES, PACKAGE_UPLOAD_ABANDONED_MS } from './store-limits';

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

export interface PackageBlobStore extends PackageBlobReader {
  put(tenantId: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredPackageBlob>;
}

function bytes(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex');
  throw new Error('not a bytea value');
}

export class SqlPackageBlobStore implements PackageBlobStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly chunkBytes: number = PACKAGE_BLOB_CHUNK_BYTES,
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
      const { rows } = await this.db.query(`SELECT data FROM package_blob_chunks WHERE blob_id = $1 AND chunk = $2`, [blobId, n]);
      if (rows.length === 0) throw new Error(`package blob ${blobId} lacks chunk ${n}`);
      const data = bytes(rows[0]['data']);
      const base = n * this.chunkBytes;
      const from = Math.max(0, start - base);
      const to = Math.min(data.length, endInclusive - base + 1);
      yield data.subarray(from, to);
    }
  }

  private async drop(blobId: string): Promise<void> {
    await this.db.query(`DELETE FROM package_blobs WHERE id = $1`, [blobId]);
  }
}
