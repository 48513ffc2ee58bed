/**
 * The package catalog part of the platform API (core/package-catalog.ts,
 * migration 0200): packages, their immutable versions with one file per
 * platform, withdrawal, and the upload of files into this server's
 * content-addressed store (libs/store package-blob.store.ts). A version's
 * file is either the operator's URL, downloaded once here to verify the hash
 * the version names, or a file uploaded before, named by its SHA-256. Every
 * change is audited (hashes and platforms, never a URL's query: it may carry
 * the artifact store's token).
 */
import { SqlPackageBlobStore, PackageBlobTooLargeError, type PackageBlobStore, type SqlExecutor } from '@opamp/store';
import {
  checkPackageVersion,
  checkResourceName,
  contentHashMismatch,
  DEFAULT_MAX_PACKAGE_FILE_BYTES,
  DEFAULT_PACKAGE_FETCH_TIMEOUT_MS,
  DesiredStateError,
  invalidArgument,
  MAX_PACKAGE_VERSIONS,
  MAX_PACKAGES,
  packageKindName,
  parsePackageFiles,
  parsePackageKind,
  type PackageFileSpec,
  echo,
  PackageUrlAllowList,
} from '../core';
import { toBuffer, toIso, toNumber } from '../store/desired-state.repository';
import { fetchPackageFile, type FetchedFile } from '../runtime/package-file.fetcher';
import type { ApiContext, Caller } from './api-context';
import { str, type Req } from './request-fields';

export interface PackageApiOptions {
  /** Largest file uploaded or verified from its URL (default DEFAULT_MAX_PACKAGE_FILE_BYTES). */
  maxFileBytes?: number;
  /** Longest the verification download of a URL may take (default DEFAULT_PACKAGE_FETCH_TIMEOUT_MS). */
  fetchTimeoutMs?: number;
  /** URL prefixes a version's file may be referenced under (OPAMP_PACKAGE_URL_ALLOW); default none: files are uploaded. */
  urlAllow?: readonly string[];
  /** Where uploaded files are kept (default: PostgreSQL chunks in the API's database). */
  blobs?: PackageBlobStore;
}

/** An upload beyond the size limit (the REST mirror answers 413). */
export class PackageFileTooLargeError extends DesiredStateError {
  constructor(readonly maxBytes: number) {
    super('INVALID_ARGUMENT', `package file is larger than ${maxBytes} bytes (the package file limit)`);
  }
}

export interface PackageMetrics {
  uploads: number;
  uploadedBytes: number;
  /** URL files downloaded to verify their hash, and those refused (hash, size, unreachable). */
  urlVerifications: number;
  urlRefusals: number;
}

interface StoredFile extends PackageFileSpec {
  sizeBytes: number;
  source: 'url' | 'upload';
}

export class PackageApi {
  readonly metrics: PackageMetrics = { uploads: 0, uploadedBytes: 0, urlVerifications: 0, urlRefusals: 0 };
  readonly blobs: PackageBlobStore;
  readonly maxFileBytes: number;
  private readonly fetchTimeoutMs: number;
  private readonly urlAllow: PackageUrlAllowList;

  constructor(
    private readonly ctx: ApiContext,
    options: PackageApiOptions = {},
  ) {
    this.blobs = options.blobs ?? new SqlPackageBlobStore(ctx.repo.db);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_PACKAGE_FILE_BYTES;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_PACKAGE_FETCH_TIMEOUT_MS;
    this.urlAllow = new PackageUrlAllowList(options.urlAllow ?? []);
  }

  private audit(tx: SqlExecutor, c: Caller, action: string, resourceType: string, name: string, details: Record<string, unknown>, afterHash: Buffer | null = null): Promise<void> {
    return this.ctx.repo.audit(tx, { tenantId: c.tenantId, actor: this.ctx.actor(c), action, resourceType, resourceName: name, afterHash, details }, false);
  }

  // --- packages ---------------------------------------------------------------

  async createPackage(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const p = (req['package'] ?? null) as Req | null;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalidArgument('package is required');
    const name = str(p['name']);
    checkResourceName(name, 'package');
    const kind = parsePackageKind(p['kind']);
    const row = await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const n = await tx.query(`SELECT count(*) AS n FROM packages WHERE tenant_id = $1`, [c.tenantId]);
      if (toNumber(n.rows[0]['n']) >= MAX_PACKAGES) throw new DesiredStateError('RESOURCE_EXHAUSTED', `a tenant may have at most ${MAX_PACKAGES} packages`);
      const ins = await tx.query(
        `INSERT INTO packages (tenant_id, name, type, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, name, kind, this.ctx.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `package '${name}' already exists`);
      await this.audit(tx, c, 'package.create', 'package', name, { kind });
      return ins.rows[0];
    });
    return packageMessage(row, [], 0, 0);
  }

  async getPackage(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = packageName(req['name']);
    const row = await this.packageRow(c.tenantId, name);
    const versions = await this.versions(c.tenantId, name);
    return packageMessage(row, versions, versions.length, versions.filter((v) => v['withdrawn']).length);
  }

  async listPackages(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(
      `SELECT p.*, (SELECT count(*) FROM package_versions v WHERE v.tenant_id = p.tenant_id AND v.package_name = p.name) AS versions,
              (SELECT count(*) FROM package_versions v WHERE v.tenant_id = p.tenant_id AND v.package_name = p.name AND v.withdrawn_at IS NOT NULL) AS withdrawn
         FROM packages p WHERE p.tenant_id = $1 ORDER BY p.name`,
      [c.tenantId],
    );
    return { packages: rows.map((r) => packageMessage(r, [], toNumber(r['versions']), toNumber(r['withdrawn']))) };
  }

  async deletePackage(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = packageName(req['name']);
    await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT 1 FROM packages WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package '${name}' not found`);
      const v = await tx.query(`SELECT count(*) AS n FROM package_versions WHERE tenant_id = $1 AND package_name = $2`, [c.tenantId, name]);
      const n = toNumber(v.rows[0]['n']);
      if (n > 0) throw new DesiredStateError('FAILED_PRECONDITION', `package '${name}' has ${n} version(s); withdraw them instead (versions are the record of what agents ran)`);
      await tx.query(`DELETE FROM packages WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
      await this.audit(tx, c, 'package.delete', 'package', name, {});
    });
    return {};
  }

  // --- versions ---------------------------------------------------------------

  async createPackageVersion(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const v = (req['packageVersion'] ?? null) as Req | null;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument('package_version is required');
    const name = packageName(v['packageName'], 'package_version.package_name');
    const version = str(v['version']);
    checkPackageVersion(version);
    const specs = parsePackageFiles(v['files']);
    for (const [i, f] of specs.entries()) if (f.url !== null) this.refuseUrl(f.url, `package_version.files[${i}].url`);
    // Cheap refusals before any download.
    await this.packageRow(c.tenantId, name);
    await this.refuseExisting(this.ctx.repo.db, c.tenantId, name, version);
    const files: StoredFile[] = [];
    for (const [i, f] of specs.entries()) files.push(await this.resolveFile(c.tenantId, f, `package_version.files[${i}]`));
    await this.ctx.repo.db.transaction(async (tx) => {
      const pkg = await tx.query(`SELECT 1 FROM packages WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, name]);
      if (pkg.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package '${name}' not found`);
      await this.refuseExisting(tx, c.tenantId, name, version);
      const n = await tx.query(`SELECT count(*) AS n FROM package_versions WHERE tenant_id = $1 AND package_name = $2`, [c.tenantId, name]);
      if (toNumber(n.rows[0]['n']) >= MAX_PACKAGE_VERSIONS) throw new DesiredStateError('RESOURCE_EXHAUSTED', `a package may have at most ${MAX_PACKAGE_VERSIONS} versions`);
      await tx.query(`INSERT INTO package_versions (tenant_id, package_name, version, created_by) VALUES ($1, $2, $3, $4)`, [c.tenantId, name, version, this.ctx.actor(c)]);
      for (const [i, f] of files.entries()) {
        // The upload is held in this transaction: the blob collection cannot take it now.
        if (f.source === 'upload' && !(await this.blobs.claim(tx, c.tenantId, f.sha256))) {
          throw new DesiredStateError('FAILED_PRECONDITION', `package_version.files[${i}]: the file with SHA-256 ${f.sha256.toString('hex')} is no longer stored (upload it again)`);
        }
        await tx.query(
          `INSERT INTO package_files (tenant_id, package_name, version, os, arch, sha256, size_bytes, signature, source, url)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [c.tenantId, name, version, f.os, f.arch, f.sha256, f.sizeBytes, f.signature, f.source, f.url],
        );
      }
      await this.audit(tx, c, 'package_version.create', 'package_version', `${name}@${version}`, {
        files: files.map((f) => ({ os: f.os, arch: f.arch, sha256: f.sha256.toString('hex'), sizeBytes: f.sizeBytes, source: f.source, signed: f.signature !== null })),
      });
    });
    return this.getPackageVersion(c, { packageName: name, version });
  }

  async getPackageVersion(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = packageName(req['packageName'], 'package_name');
    const version = str(req['version']);
    checkPackageVersion(version);
    const [found] = await this.versions(c.tenantId, name, version);
    if (!found) throw new DesiredStateError('NOT_FOUND', `package version '${name}@${version}' not found`);
    return found;
  }

  async listPackageVersions(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = packageName(req['packageName'], 'package_name');
    await this.packageRow(c.tenantId, name);
    return { packageVersions: await this.versions(c.tenantId, name) };
  }

  async withdrawPackageVersion(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = packageName(req['packageName'], 'package_name');
    const version = str(req['version']);
    checkPackageVersion(version);
    await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT withdrawn_at FROM package_versions WHERE tenant_id = $1 AND package_name = $2 AND version = $3 FOR UPDATE`, [c.tenantId, name, version]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package version '${name}@${version}' not found`);
      if (cur.rows[0]['withdrawn_at']) return; // withdrawn already: nothing changes, nothing to audit
      await tx.query(`UPDATE package_versions SET withdrawn_at = now(), withdrawn_by = $4 WHERE tenant_id = $1 AND package_name = $2 AND version = $3`, [c.tenantId, name, version, this.ctx.actor(c)]);
      await this.audit(tx, c, 'package_version.withdraw', 'package_version', `${name}@${version}`, {});
    });
    return this.getPackageVersion(c, { packageName: name, version });
  }

  // --- files -------------------------------------------------------------------

  /**
   * POST /api/v1/package-files: the raw bytes, streamed into the store (at
   * most one chunk in memory), hashed as they come. Content the tenant has
   * already is not stored twice.
   */
  async uploadPackageFile(c: Caller, body: AsyncIterable<Uint8Array>): Promise<Record<string, unknown>> {
    await this.ctx.repo.db.transaction((tx) => this.ctx.repo.ensureTenant(tx, c.tenantId));
    let stored;
    try {
      stored = await this.blobs.put(c.tenantId, body, this.maxFileBytes);
    } catch (err) {
      if (err instanceof PackageBlobTooLargeError) throw new PackageFileTooLargeError(err.maxBytes);
      throw err;
    }
    this.metrics.uploads++;
    if (!stored.existed) this.metrics.uploadedBytes += stored.sizeBytes;
    await this.ctx.repo.db.transaction((tx) =>
      this.audit(tx, c, 'package_file.upload', 'package_file', stored.sha256.toString('hex'), { sizeBytes: stored.sizeBytes, existed: stored.existed }, stored.sha256),
    );
    return { sha256: stored.sha256.toString('hex'), sizeBytes: stored.sizeBytes, existed: stored.existed };
  }

  /** A version's file as stored: its URL verified by download, or the upload it names. */
  private async resolveFile(tenantId: string, f: PackageFileSpec, at: string): Promise<StoredFile> {
    if (f.url === null) {
      const blob = await this.blobs.stat(tenantId, f.sha256);
      if (!blob) throw new DesiredStateError('FAILED_PRECONDITION', `${at}: no file with SHA-256 ${f.sha256.toString('hex')} was uploaded (POST /api/v1/package-files first, or give its url)`);
      return { ...f, sizeBytes: blob.sizeBytes, source: 'upload' };
    }
    this.metrics.urlVerifications++;
    let fetched: FetchedFile;
    try {
      fetched = await fetchPackageFile(f.url, { maxBytes: this.maxFileBytes, timeoutMs: this.fetchTimeoutMs, allow: this.urlAllow });
    } catch (err) {
      this.metrics.urlRefusals++;
      if (err instanceof DesiredStateError) throw new DesiredStateError(err.code, `${at}: ${err.message}`);
      throw err;
    }
    const mismatch = contentHashMismatch(f.sha256, fetched.sha256, `${at}: the file at its url`);
    if (mismatch) {
      this.metrics.urlRefusals++;
      throw invalidArgument(mismatch);
    }
    return { ...f, sizeBytes: fetched.sizeBytes, source: 'url' };
  }

  /** A URL outside the allow-list is refused before anything is downloaded (counted with the URL refusals). */
  private refuseUrl(url: string, at: string): void {
    const u = new URL(url);
    if (this.urlAllow.allows(u)) return;
    this.metrics.urlRefusals++;
    const why = this.urlAllow.empty
      ? 'is not allowed: this server takes no package file URLs (upload the file, or have the operator list the artifact store in OPAMP_PACKAGE_URL_ALLOW)'
      : `is not under an allowed URL prefix (${this.urlAllow.shown.map((p) => echo(p)).join(', ')})`;
    throw invalidArgument(`${at}: ${echo(u.origin + u.pathname)} ${why}`);
  }

  private async refuseExisting(tx: SqlExecutor, tenantId: string, name: string, version: string): Promise<void> {
    const { rows } = await tx.query(`SELECT 1 FROM package_versions WHERE tenant_id = $1 AND package_name = $2 AND version = $3`, [tenantId, name, version]);
    if (rows.length > 0) throw new DesiredStateError('ALREADY_EXISTS', `package version '${name}@${version}' already exists (versions are immutable: register a new version)`);
  }

  private async packageRow(tenantId: string, name: string): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM packages WHERE tenant_id = $1 AND name = $2`, [tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package '${name}' not found`);
    return rows[0];
  }

  /** A package's versions (or the one named), newest first, each with its files. */
  private async versions(tenantId: string, name: string, version?: string): Promise<Record<string, unknown>[]> {
    const params: unknown[] = [tenantId, name];
    if (version !== undefined) params.push(version);
    const only = version !== undefined ? 'AND version = $3' : '';
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM package_versions WHERE tenant_id = $1 AND package_name = $2 ${only} ORDER BY created_at DESC, version DESC`, params);
    if (rows.length === 0) return [];
    const files = await this.ctx.repo.db.query(`SELECT * FROM package_files WHERE tenant_id = $1 AND package_name = $2 ${only} ORDER BY os, arch`, params);
    return rows.map((r) => ({
      packageName: str(r['package_name']),
      version: str(r['version']),
      files: files.rows.filter((f) => f['version'] === r['version']).map(fileMessage),
      createdBy: str(r['created_by']),
      createTime: toIso(r['created_at']),
      withdrawn: r['withdrawn_at'] !== null && r['withdrawn_at'] !== undefined,
      withdrawTime: r['withdrawn_at'] ? toIso(r['withdrawn_at']) : '',
      withdrawnBy: str(r['withdrawn_by']),
    }));
  }
}

function packageName(v: unknown, field = 'name'): string {
  const name = str(v);
  if (!name) throw invalidArgument(`${field} is required`);
  checkResourceName(name, 'package');
  return name;
}

function packageMessage(r: Record<string, unknown>, versions: Record<string, unknown>[], versionCount: number, withdrawnCount: number): Record<string, unknown> {
  return {
    name: str(r['name']),
    kind: packageKindName(str(r['type'])),
    createdBy: str(r['created_by']),
    createTime: toIso(r['created_at']),
    versions,
    versionCount,
    withdrawnCount,
  };
}

function fileMessage(f: Record<string, unknown>): Record<string, unknown> {
  return {
    os: str(f['os']),
    arch: str(f['arch']),
    sha256: (toBuffer(f['sha256']) ?? Buffer.alloc(0)).toString('hex'),
    signature: toBuffer(f['signature']) ?? Buffer.alloc(0),
    url: str(f['url']),
    sizeBytes: toNumber(f['size_bytes']),
    source: str(f['source']),
  };
}
