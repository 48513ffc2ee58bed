/**
 * The configurations part of the platform API: immutable, content-hashed
 * versions, validated before they are stored; validation and rendering for
 * one agent without storing anything.
 */
import type { SqlExecutor } from '@opamp/store';
import {
  checkResourceName,
  DesiredStateError,
  hashFiles,
  invalidArgument,
  isTemplate,
  renderForAgent,
  validateConfiguration,
  type ConfigFiles,
  type ConfigFormat,
} from '../core';
import { toBuffer, toIso, toNumber, versionFromRow } from '../store/desired-state.repository';
import type { AgentApi } from './agent-api';
import type { ApiContext, Caller } from './api-context';
import { hex, int, str, type Req } from './request-fields';

export interface ConfigFileMessage {
  body?: string;
  contentType?: string;
}

const FORMAT_TO_CORE: Record<string, ConfigFormat> = {
  CONFIG_FORMAT_UNSPECIFIED: 'otel_collector',
  CONFIG_FORMAT_OTEL_COLLECTOR: 'otel_collector',
  CONFIG_FORMAT_GENERIC: 'generic',
};
const FORMAT_FROM_CORE: Record<ConfigFormat, string> = { otel_collector: 'CONFIG_FORMAT_OTEL_COLLECTOR', generic: 'CONFIG_FORMAT_GENERIC' };

const CONFIG_SELECT = `SELECT v.configuration_name, c.description, c.format, v.version, v.files, v.content_hash, v.templated,
      v.created_by, c.created_at AS config_created_at, v.created_at
    FROM configurations c JOIN configuration_versions v ON v.tenant_id = c.tenant_id AND v.configuration_name = c.name`;

function filesFrom(v: unknown): ConfigFiles {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument('files must be a map of file name to {body, content_type}');
  const out: Record<string, { body: string; contentType: string }> = {};
  for (const [name, f] of Object.entries(v as Record<string, ConfigFileMessage | null>)) {
    out[name] = { body: str(f?.body), contentType: str(f?.contentType) };
  }
  return out;
}

function formatFrom(v: unknown): ConfigFormat {
  const f = FORMAT_TO_CORE[str(v) || 'CONFIG_FORMAT_UNSPECIFIED'];
  if (!f) throw invalidArgument(`format must be one of ${Object.keys(FORMAT_TO_CORE).join(', ')}`);
  return f;
}

export class ConfigurationApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly agents: AgentApi,
  ) {}

  private configMessage(r: Record<string, unknown>, withFiles = true): Record<string, unknown> {
    const files = (r['files'] as Record<string, { body: string; contentType: string }>) ?? {};
    return {
      name: str(r['configuration_name'] ?? r['name']),
      description: str(r['description']),
      format: FORMAT_FROM_CORE[r['format'] as ConfigFormat] ?? 'CONFIG_FORMAT_UNSPECIFIED',
      version: toNumber(r['version']),
      files: withFiles ? files : {},
      contentHash: hex(toBuffer(r['content_hash'])),
      templated: r['templated'] === true,
      createdBy: str(r['created_by']),
      createTime: r['config_created_at'] ? toIso(r['config_created_at']) : toIso(r['created_at']),
      updateTime: toIso(r['created_at']),
    };
  }

  /** A configuration's version row (`version` 0: the latest); NOT_FOUND otherwise. */
  async versionRow(db: SqlExecutor, tenantId: string, name: string, version: number): Promise<Record<string, unknown>> {
    const { rows } = await db.query(
      `${CONFIG_SELECT} WHERE c.tenant_id = $1 AND c.name = $2 AND v.version = ${version > 0 ? '$3' : 'c.latest_version'}`,
      version > 0 ? [tenantId, name, version] : [tenantId, name],
    );
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', version > 0 ? `configuration '${name}' has no version ${version}` : `configuration '${name}' not found`);
    return rows[0];
  }

  private checkedFiles(req: Req, format: ConfigFormat): ConfigFiles {
    const files = filesFrom(req['files']);
    const errors = validateConfiguration(files, format);
    if (errors.length > 0) throw invalidArgument(`invalid configuration: ${errors.join('; ')}`);
    return files;
  }

  async createConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const format = formatFrom(req['format']);
    const files = this.checkedFiles(req, format);
    const description = str(req['description']);
    if (description.length > 1024) throw invalidArgument('description is limited to 1024 characters');
    const hash = hashFiles(files);
    const row = await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const ins = await tx.query(
        `INSERT INTO configurations (tenant_id, name, description, format, latest_version, created_by) VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING name`,
        [c.tenantId, name, description, format, this.ctx.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `configuration '${name}' already exists`);
      await tx.query(
        `INSERT INTO configuration_versions (tenant_id, configuration_name, version, files, content_hash, templated, created_by) VALUES ($1, $2, 1, $3::jsonb, $4, $5, $6)`,
        [c.tenantId, name, JSON.stringify(files), hash, Object.values(files).some((f) => isTemplate(f.body)), this.ctx.actor(c)],
      );
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'configuration.create', resourceType: 'configuration', resourceName: name, afterHash: hash, details: { version: 1 } },
        true,
      );
      return this.versionRow(tx, c.tenantId, name, 1);
    });
    return this.configMessage(row);
  }

  async updateConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const { row, changed, selectors } = await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT format, latest_version, description FROM configurations WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `configuration '${name}' not found`);
      const format = cur.rows[0]['format'] as ConfigFormat;
      const latest = toNumber(cur.rows[0]['latest_version']);
      const files = this.checkedFiles(req, format);
      const hash = hashFiles(files);
      const previous = await this.versionRow(tx, c.tenantId, name, latest);
      const beforeHash = toBuffer(previous['content_hash']);
      const description = req['description'] === undefined || req['description'] === '' ? str(cur.rows[0]['description']) : str(req['description']);
      if (beforeHash?.equals(hash) && description === str(cur.rows[0]['description'])) return { row: previous, changed: false, selectors: [] as string[] };
      const version = beforeHash?.equals(hash) ? latest : latest + 1;
      if (version !== latest) {
        await tx.query(
          `INSERT INTO configuration_versions (tenant_id, configuration_name, version, files, content_hash, templated, created_by) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)`,
          [c.tenantId, name, version, JSON.stringify(files), hash, Object.values(files).some((f) => isTemplate(f.body)), this.ctx.actor(c)],
        );
      }
      await tx.query(`UPDATE configurations SET latest_version = $3, description = $4, updated_at = now() WHERE tenant_id = $1 AND name = $2`, [
        c.tenantId,
        name,
        version,
        description,
      ]);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'configuration.update',
          resourceType: 'configuration',
          resourceName: name,
          beforeHash,
          afterHash: hash,
          details: { version, previousVersion: latest },
        },
        true,
      );
      const sel = await tx.query(`SELECT selector FROM assignments WHERE tenant_id = $1 AND configuration_name = $2 AND pinned_version IS NULL`, [c.tenantId, name]);
      if (version !== latest) await this.ctx.recordReevaluation(tx, c, sel.rows.map((r) => str(r['selector'])), 'configuration.update');
      return { row: await this.versionRow(tx, c.tenantId, name, version), changed: version !== latest, selectors: sel.rows.map((r) => str(r['selector'])) };
    });
    if (changed) this.ctx.reevaluate(c.tenantId, selectors);
    return this.configMessage(row);
  }

  async getConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    return this.configMessage(await this.versionRow(this.ctx.repo.db, c.tenantId, name, int(req['version'], 'version')));
  }

  async listConfigurations(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`${CONFIG_SELECT} WHERE c.tenant_id = $1 AND v.version = c.latest_version ORDER BY c.name`, [c.tenantId]);
    return { configurations: rows.map((r) => this.configMessage(r)) };
  }

  async listConfigurationVersions(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const { rows } = await this.ctx.repo.db.query(`${CONFIG_SELECT} WHERE c.tenant_id = $1 AND c.name = $2 ORDER BY v.version DESC`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `configuration '${name}' not found`);
    return { versions: rows.map((r) => this.configMessage(r)) };
  }

  async deleteConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    await this.ctx.repo.db.transaction(async (tx) => {
      const used = await tx.query(`SELECT name FROM assignments WHERE tenant_id = $1 AND configuration_name = $2 ORDER BY name`, [c.tenantId, name]);
      if (used.rows.length > 0) {
        throw new DesiredStateError(
          'FAILED_PRECONDITION',
          `configuration '${name}' is used by assignment(s) ${used.rows.map((r) => `'${str(r['name'])}'`).join(', ')}; delete or change them first`,
        );
      }
      const latest = await this.versionRow(tx, c.tenantId, name, 0);
      await tx.query(`DELETE FROM configurations WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'configuration.delete', resourceType: 'configuration', resourceName: name, beforeHash: toBuffer(latest['content_hash']) },
        true,
      );
    });
    return {};
  }

  async validateConfiguration(_c: Caller, req: Req): Promise<Record<string, unknown>> {
    const format = formatFrom(req['format']);
    const files = filesFrom(req['files']);
    const errors = validateConfiguration(files, format);
    return { valid: errors.length === 0, errors, contentHash: errors.length === 0 ? hashFiles(files).toString('hex') : '' };
  }

  async renderConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const agent = await this.agents.loadAgent(c, req['instanceUid']);
    const row = await this.versionRow(this.ctx.repo.db, c.tenantId, name, int(req['version'], 'version'));
    const version = versionFromRow(c.tenantId, row);
    const components = agent.availableComponentsHash ? (await this.ctx.repo.availableComponents([agent.availableComponentsHash])).get(agent.availableComponentsHash.toString('hex')) : undefined;
    const out = renderForAgent(version, { attributes: agent.labels, instanceUidHex: agent.instanceUid.toString('hex'), availableComponents: components });
    if (!out.ok) return { sendable: false, reason: out.reason, files: {}, configHash: '' };
    return { sendable: true, reason: '', files: out.files, configHash: out.hash.toString('hex') };
  }
}
