/**
 * The platform API, independent of transport: gRPC and REST adapters decode
 * requests into these plain shapes (proto3 field names in lowerCamelCase,
 * enums as their names) and encode the results. Every method takes the
 * authenticated caller and touches only the caller's tenant. Bad input throws
 * DesiredStateError('INVALID_ARGUMENT') before anything is stored.
 */
import { AgentCapabilities, capabilityNames } from '@opamp/protocol';
import type { SqlExecutor } from '@opamp/store';
import {
  checkResourceName,
  customMessage,
  DesiredStateError,
  formatSelector,
  gateCustomMessage,
  gateRestart,
  hashFiles,
  invalidArgument,
  isInSync,
  isTemplate,
  parseSelectorArgument,
  renderForAgent,
  restartMessage,
  selectorToSql,
  validateConfiguration,
  type AgentWatchFilter,
  type ConfigFiles,
  type ConfigFormat,
} from '../core';
import { MAX_PAGE_SIZE } from '../core/limits';
import { agentPagePosition, agentPageSql, auditSearchPatterns, auditSearchSql, decodeAgentPageToken, encodeAgentPageToken, parseAgentOrder } from '../core';
import { AgentPushDispatcher, TRANSPORT_HTTP, TRANSPORT_WEBSOCKET, type Delivery } from '../store/agent-push.dispatcher';
import {
  AGENT_COLUMNS,
  AGENT_FROM,
  agentFromRow,
  toBuffer,
  toIso,
  toNumber,
  versionFromRow,
  type AgentRow,
  type DesiredStateRepository,
  type TokenRecord,
} from '../store/desired-state.repository';
import type { Reconciler } from '../runtime/reconciler';
import { ReevaluationJobRepository } from '../store/reevaluation-job.repository';
import { AgentWatchHub, type AgentWatch, type AgentWatchHubOptions } from '../runtime/agent-watch.hub';
import { RolloutApi } from './rollout-api';
import { componentDetailsMap, componentHealthMessage, effectiveConfigFiles, packageStatusesMessage } from './agent-detail';

/** Where the agent tokens that gateways accept are published (Redis directory, or the embedded gateway itself). */
export interface AgentTokenSink {
  put(entry: { digest: string; tenantId: string; tokenId: string }): Promise<void>;
  remove(digest: string): Promise<void>;
  replaceAll(entries: ReadonlyArray<{ digest: string; tenantId: string; tokenId: string }>): Promise<void>;
}

export interface Caller {
  readonly tenantId: string;
  readonly tokenId: string;
}

export interface ConfigFileMessage {
  body?: string;
  contentType?: string;
}

type Req = Record<string, unknown>;

const FORMAT_TO_CORE: Record<string, ConfigFormat> = {
  CONFIG_FORMAT_UNSPECIFIED: 'otel_collector',
  CONFIG_FORMAT_OTEL_COLLECTOR: 'otel_collector',
  CONFIG_FORMAT_GENERIC: 'generic',
};
const FORMAT_FROM_CORE: Record<ConfigFormat, string> = { otel_collector: 'CONFIG_FORMAT_OTEL_COLLECTOR', generic: 'CONFIG_FORMAT_GENERIC' };
const STATUS_NAMES = ['REMOTE_CONFIG_STATUS_UNSET', 'REMOTE_CONFIG_STATUS_APPLIED', 'REMOTE_CONFIG_STATUS_APPLYING', 'REMOTE_CONFIG_STATUS_FAILED'];
const UID_HEX = /^[0-9a-f]{32}$/;
const CAPABILITY_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/;
const LABEL_KEY = /^[^\s,=!()]{1,253}$/;
/** How long the label keys of a tenant's fleet are reused by GetFleetSummary. */
const LABEL_KEYS_TTL_MS = 30_000;

/**
 * The ListAgents in_sync definition in SQL (agents `a` LEFT JOIN agent_config_state `s`); mirrors core isInSync.
 * Never NULL (a NULL reported or sent hash is "not in sync"), so NOT of it is exactly "out of sync".
 */
const IN_SYNC_SQL = `coalesce(s.desired_hash IS NOT NULL AND (
    ((a.capabilities & ${AgentCapabilities.ReportsRemoteConfig}) <> 0 AND a.remote_config_hash = s.desired_hash AND a.remote_config_status = 1)
    OR ((a.capabilities & ${AgentCapabilities.ReportsRemoteConfig}) = 0 AND s.last_sent_hash = s.desired_hash)), false)`;

/** FleetCounts as SQL aggregates, in the order of COUNT_FIELDS. */
const COUNT_FIELDS = ['agents', 'connected', 'disconnected', 'healthy', 'unhealthy', 'healthUnknown', 'inSync', 'outOfSync', 'unassigned', 'configFailed', 'configApplying'] as const;
const COUNT_SQL = [
  'count(*)',
  'count(*) FILTER (WHERE a.connected)',
  'count(*) FILTER (WHERE NOT a.connected)',
  'count(*) FILTER (WHERE a.healthy)',
  'count(*) FILTER (WHERE NOT a.healthy)',
  'count(*) FILTER (WHERE a.healthy IS NULL)',
  `count(*) FILTER (WHERE ${IN_SYNC_SQL})`,
  `count(*) FILTER (WHERE NOT ${IN_SYNC_SQL})`,
  "count(*) FILTER (WHERE coalesce(s.configuration_name, '') = '')",
  'count(*) FILTER (WHERE a.remote_config_status = 3)',
  'count(*) FILTER (WHERE a.remote_config_status = 2)',
]
  .map((sql, i) => `${sql} AS c${i}`)
  .join(', ');

export interface ApiMetrics {
  calls: number;
  invalidArguments: number;
  errors: Record<string, number>;
  /** Calls by rpc and outcome ('OK' or the error code). */
  requests: Record<string, Record<string, number>>;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function int(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function hex(b: Buffer | null): string {
  return b ? b.toString('hex') : '';
}

function jsonValueToString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function stringMap(obj: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(obj).sort()) out[k] = jsonValueToString(obj[k]);
  return out;
}

function pageSize(v: unknown, def = 100): number {
  const n = int(v);
  if (n < 0 || n > MAX_PAGE_SIZE) throw invalidArgument(`page_size must be between 1 and ${MAX_PAGE_SIZE}`);
  return n === 0 ? def : n;
}

function instanceUid(v: unknown): Buffer {
  const s = str(v).toLowerCase().replace(/-/g, '');
  if (!UID_HEX.test(s)) throw invalidArgument(`instance_uid must be 32 hex digits (16 bytes), got ${JSON.stringify(str(v))}`);
  return Buffer.from(s, 'hex');
}

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

function pageToken(v: unknown, what: string): string | null {
  const s = str(v);
  if (!s) return null;
  const decoded = Buffer.from(s, 'base64url').toString('utf8');
  if (!decoded.startsWith(`${what}:`)) throw invalidArgument('page_token is not valid for this request');
  return decoded.slice(what.length + 1);
}

function makePageToken(what: string, value: string): string {
  return Buffer.from(`${what}:${value}`, 'utf8').toString('base64url');
}

export class FleetApiService {
  readonly metrics: ApiMetrics = { calls: 0, invalidArguments: 0, errors: {}, requests: {} };
  /** Staged rollouts (api/rollout-api.ts). */
  readonly rollouts: RolloutApi;
  private readonly reevaluationJobs: ReevaluationJobRepository;
  /** WatchAgents streams of this replica; fed by the agent-change feed (the host wires it). */
  readonly watches: AgentWatchHub;

  constructor(
    private readonly repo: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly reconciler: Reconciler | null,
    private readonly agentTokens: AgentTokenSink | null = null,
    options: { watch?: AgentWatchHubOptions } = {},
  ) {
    this.rollouts = new RolloutApi(repo);
    this.reevaluationJobs = new ReevaluationJobRepository(repo.db);
    this.watches = new AgentWatchHub(
      repo,
      (row) => {
        const message = this.agentMessage(row);
        return {
          message,
          facts: { labels: row.labels, connected: row.connected, healthy: row.healthy, inSync: message['inSync'] === true, remoteConfigStatus: row.remoteConfigStatus },
        };
      },
      options.watch,
    );
  }

  /**
   * An assignment held by an active rollout cannot change or go away; when
   * its configuration or version changes, finished rollouts' pins stop
   * counting (the assignment alone says what its agents get).
   */
  private async guardRollouts(tx: SqlExecutor, tenantId: string, assignmentName: string, releasePins: boolean): Promise<void> {
    const active = await this.rollouts.repo.activeFor(tx, tenantId, assignmentName);
    if (active) {
      throw new DesiredStateError(
        'FAILED_PRECONDITION',
        `assignment '${assignmentName}' is being rolled out by rollout '${active.name}' (${active.state}); finish, abort or roll it back first`,
      );
    }
    if (releasePins) {
      await tx.query(`UPDATE rollouts SET holds_assignment = false WHERE tenant_id = $1 AND assignment_name = $2 AND holds_assignment`, [tenantId, assignmentName]);
    }
  }

  /** Puts every active agent token into the gateways' directory (at start; fixes any drift). */
  async syncAgentTokens(): Promise<number> {
    if (!this.agentTokens) return 0;
    const tokens = await this.repo.listActiveAgentTokens();
    await this.agentTokens.replaceAll(tokens.map((t) => ({ digest: t.digest, tenantId: t.tenantId, tokenId: t.id })));
    return tokens.length;
  }

  /** Counts a call's outcome (adapters call this around every method). */
  count(err?: unknown, rpc = 'unknown'): void {
    this.metrics.calls++;
    const code = !err ? 'OK' : err instanceof DesiredStateError ? err.code : 'INTERNAL';
    const byCode = (this.metrics.requests[rpc] ??= {});
    byCode[code] = (byCode[code] ?? 0) + 1;
    if (!err) return;
    if (code === 'INVALID_ARGUMENT') this.metrics.invalidArguments++;
    this.metrics.errors[code] = (this.metrics.errors[code] ?? 0) + 1;
  }

  /** Resolves `Bearer <token>` to a caller; throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined | null): Promise<Caller> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new DesiredStateError('UNAUTHENTICATED', 'missing bearer token (authorization: Bearer <token>)');
    const token = await this.repo.findActiveToken(m[1]);
    if (!token || token.kind !== 'admin') throw new DesiredStateError('UNAUTHENTICATED', 'invalid or revoked token');
    return { tenantId: token.tenantId, tokenId: token.id };
  }

  private actor(c: Caller): string {
    return `token:${c.tokenId}`;
  }

  /**
   * Records the re-evaluation of the agents `selectors` match, in the
   * transaction of the change (durable: a crash before or during the work is
   * resumed from the job's cursor, runtime/reconciler.ts).
   */
  private async recordReevaluation(tx: SqlExecutor, tenantId: string, selectors: string[], reason: string): Promise<void> {
    if (selectors.length > 0) await this.reevaluationJobs.record(tx, tenantId, [...new Set(selectors)], reason);
  }

  /** After the commit: this replica's reconciler starts on the recorded job (any replica's sweep would otherwise). */
  private reevaluate(tenantId: string, selectors: string[]): void {
    if (this.reconciler && selectors.length > 0) void this.reconciler.runJobs(tenantId);
  }

  // --- agents ---------------------------------------------------------------------

  private agentMessage(a: AgentRow): Record<string, unknown> {
    return {
      instanceUid: a.instanceUid.toString('hex'),
      labels: a.labels,
      identifyingAttributes: stringMap(a.identifyingAttributes),
      nonIdentifyingAttributes: stringMap(a.nonIdentifyingAttributes),
      capabilities: String(a.capabilities),
      capabilityNames: capabilityNames(a.capabilities),
      connected: a.connected,
      gatewayId: a.gatewayId ?? '',
      transport: a.transport === TRANSPORT_WEBSOCKET ? 'websocket' : a.transport === TRANSPORT_HTTP ? 'http' : '',
      health: a.healthy === null ? 'HEALTH_STATE_UNKNOWN' : a.healthy ? 'HEALTH_STATE_HEALTHY' : 'HEALTH_STATE_UNHEALTHY',
      remoteConfigStatus: STATUS_NAMES[a.remoteConfigStatus] ?? STATUS_NAMES[0],
      remoteConfigHash: hex(a.remoteConfigHash),
      remoteConfigError: a.remoteConfigError ?? '',
      configurationName: a.configurationName ?? '',
      configurationVersion: a.configurationVersion ?? 0,
      desiredConfigHash: hex(a.desiredHash),
      inSync: isInSync(a.desiredHash, {
        capabilities: a.capabilities,
        reportedHash: a.remoteConfigHash,
        reportedStatus: a.remoteConfigStatus,
        lastSentHash: a.lastSentHash,
      }),
      notSentReason: a.notSentReason ?? '',
      customCapabilities: a.customCapabilities,
      lastSeenTime: a.lastSeenAt,
      updateTime: a.updatedAt,
    };
  }

  async listAgents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const selector = parseSelectorArgument(str(req['selector']));
    const limit = pageSize(req['pageSize']);
    const order = parseAgentOrder(str(req['orderBy']));
    const token = str(req['pageToken']);
    const after = token ? decodeAgentPageToken(token, order) : null;
    const params: unknown[] = [c.tenantId];
    const where: string[] = ['a.tenant_id = $1', 'a.replaced_by IS NULL'];
    const sel = selectorToSql(selector, 'a.labels', params.length);
    params.push(...sel.params);
    where.push(sel.sql);
    if (typeof req['connected'] === 'boolean') {
      params.push(req['connected']);
      where.push(`a.connected = $${params.length}`);
    }
    if (typeof req['healthy'] === 'boolean') {
      params.push(req['healthy']);
      where.push(`a.healthy = $${params.length}`);
    }
    const statuses = Array.isArray(req['configStatuses']) ? (req['configStatuses'] as unknown[]) : [];
    if (statuses.length > 0) {
      const nums = statuses.map((s) => {
        const i = typeof s === 'number' ? s : STATUS_NAMES.indexOf(str(s));
        if (i < 0 || i >= STATUS_NAMES.length) throw invalidArgument(`config_statuses: unknown status ${JSON.stringify(s)}`);
        return i;
      });
      params.push(nums);
      where.push(`a.remote_config_status = ANY($${params.length}::smallint[])`);
    }
    if (typeof req['inSync'] === 'boolean') where.push(req['inSync'] ? IN_SYNC_SQL : `NOT ${IN_SYNC_SQL}`);
    const page = agentPageSql({ order, columns: AGENT_COLUMNS, from: AGENT_FROM, where, params, after, limit: limit + 1 });
    const { rows } = await this.repo.db.query(page.sql, page.params);
    const agents = rows.slice(0, limit).map(agentFromRow);
    const more = rows.length > limit;
    return {
      agents: agents.map((a) => this.agentMessage(a)),
      nextPageToken: more ? encodeAgentPageToken(order, agentPagePosition(rows[limit - 1], agents[limit - 1].instanceUid.toString('hex'))) : '',
    };
  }

  private async loadAgent(c: Caller, uidValue: unknown): Promise<AgentRow> {
    const uid = instanceUid(uidValue);
    const { rows } = await this.repo.db.query(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.tenant_id = $1 AND a.instance_uid = $2`, [
      c.tenantId,
      uid,
    ]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `agent ${uid.toString('hex')} not found`);
    return agentFromRow(rows[0]);
  }

  async getAgent(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const { rows } = await this.repo.db.query(
      `SELECT ${AGENT_COLUMNS}, a.health, a.package_statuses, a.connected_since, a.effective_config_hash, e.config_map, ac.components
         FROM ${AGENT_FROM}
         LEFT JOIN effective_configs e ON e.hash = a.effective_config_hash
         LEFT JOIN available_components ac ON ac.hash = a.available_components_hash
        WHERE a.tenant_id = $1 AND a.instance_uid = $2`,
      [c.tenantId, uid],
    );
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `agent ${uid.toString('hex')} not found`);
    const r = rows[0];
    const a = agentFromRow(r);
    const packages = packageStatusesMessage(r['package_statuses']);
    const health = componentHealthMessage(r['health']);
    return {
      ...this.agentMessage(a),
      ...(health ? { componentHealth: health } : {}),
      effectiveConfig: effectiveConfigFiles(toBuffer(r['config_map'])),
      effectiveConfigHash: hex(toBuffer(r['effective_config_hash'])),
      packageStatuses: packages.packages,
      packageStatusesError: packages.error,
      connectedSince: a.connected && r['connected_since'] ? toIso(r['connected_since']) : '',
      availableComponents: componentDetailsMap(r['components']),
      availableComponentsHash: hex(a.availableComponentsHash),
    };
  }

  private readonly labelKeysCache = new Map<string, { at: number; keys: string[] }>();

  /** The label keys of a tenant's agents, most common first (cached for LABEL_KEYS_TTL_MS). */
  private async labelKeys(tenantId: string): Promise<string[]> {
    const hit = this.labelKeysCache.get(tenantId);
    if (hit && Date.now() - hit.at < LABEL_KEYS_TTL_MS) return hit.keys;
    const { rows } = await this.repo.db.query(
      `SELECT k, count(*) AS n FROM agents a, jsonb_object_keys(a.labels) k
        WHERE a.tenant_id = $1 AND a.replaced_by IS NULL GROUP BY k ORDER BY n DESC, k LIMIT 200`,
      [tenantId],
    );
    const keys = rows.map((r) => str(r['k']));
    this.labelKeysCache.set(tenantId, { at: Date.now(), keys });
    return keys;
  }

  /**
   * Totals and (with group_by) the same counts per value of one label, in
   * one aggregate over the tenant's agents: GROUPING SETS gives the totals
   * row and the per-value rows in a single scan.
   */
  async getFleetSummary(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const groupBy = str(req['groupBy']);
    if (groupBy && !LABEL_KEY.test(groupBy)) throw invalidArgument('group_by must be a label key');
    const selector = parseSelectorArgument(str(req['selector']));
    const params: unknown[] = [c.tenantId];
    const sel = selectorToSql(selector, 'a.labels', params.length);
    params.push(...sel.params);
    const where = `a.tenant_id = $1 AND a.replaced_by IS NULL AND (${sel.sql})`;
    let sql: string;
    if (groupBy) {
      params.push(groupBy);
      const g = `a.labels ->> $${params.length}::text`;
      sql = `SELECT GROUPING(${g}) AS total, ${g} AS value, ${COUNT_SQL} FROM ${AGENT_FROM} WHERE ${where} GROUP BY GROUPING SETS ((), (${g}))`;
    } else {
      sql = `SELECT 1 AS total, NULL AS value, ${COUNT_SQL} FROM ${AGENT_FROM} WHERE ${where}`;
    }
    const [{ rows }, labelKeys] = await Promise.all([this.repo.db.query(sql, params), this.labelKeys(c.tenantId)]);
    const counts = (r: Record<string, unknown>) => Object.fromEntries(COUNT_FIELDS.map((f, i) => [f, toNumber(r[`c${i}`])]));
    const totalRow = rows.find((r) => toNumber(r['total']) === 1);
    const groups = rows
      .filter((r) => toNumber(r['total']) !== 1)
      .map((r) => ({ value: str(r['value']), hasLabel: r['value'] !== null && r['value'] !== undefined, counts: counts(r) }))
      .sort((x, y) => Number(y.hasLabel) - Number(x.hasLabel) || y.counts['agents'] - x.counts['agents'] || x.value.localeCompare(y.value));
    return {
      totals: totalRow ? counts(totalRow) : Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])),
      groupBy,
      groups,
      labelKeys,
      time: new Date().toISOString(),
    };
  }

  private target(a: AgentRow) {
    return { connected: a.connected, gatewayId: a.gatewayId, connectionId: a.connectionId ?? '', epoch: a.epoch, transport: a.transport };
  }

  private async recordCommand(c: Caller, a: AgentRow, kind: string, delivery: Delivery, extra: { capability?: string; type?: string; data?: Buffer }): Promise<void> {
    await this.repo.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO agent_commands (tenant_id, instance_uid, kind, capability, message_type, data, delivery, requested_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [c.tenantId, a.instanceUid, kind, extra.capability ?? null, extra.type ?? null, extra.data ?? null, delivery, this.actor(c)],
      );
      await this.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: `agent.${kind}`,
          resourceType: 'agent',
          resourceName: a.instanceUid.toString('hex'),
          details: { delivery, ...(extra.capability ? { capability: extra.capability, type: extra.type } : {}) },
        },
        false,
      );
    });
  }

  async restartAgent(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const agent = await this.loadAgent(c, req['instanceUid']);
    const gate = gateRestart(agent.capabilities);
    if (!gate.ok) throw new DesiredStateError('FAILED_PRECONDITION', gate.reason);
    const delivery = await this.dispatcher.push(c.tenantId, agent.instanceUid, this.target(agent), 'command', restartMessage(agent.instanceUid));
    await this.recordCommand(c, agent, 'restart', delivery, {});
    return { delivery };
  }

  async sendCustomMessage(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const capability = str(req['capability']);
    const type = str(req['type']);
    if (!CAPABILITY_NAME.test(capability)) throw invalidArgument('capability must be a reverse FQDN, optionally followed by /version');
    if (!type) throw invalidArgument('type is required');
    const data = toBuffer(req['data']) ?? (typeof req['data'] === 'string' ? Buffer.from(req['data'], 'base64') : Buffer.alloc(0));
    if (data.length > 64 * 1024) throw invalidArgument('data is limited to 65536 bytes');
    const agent = await this.loadAgent(c, req['instanceUid']);
    const gate = gateCustomMessage(agent.customCapabilities, capability);
    if (!gate.ok) throw new DesiredStateError('FAILED_PRECONDITION', gate.reason);
    const delivery = await this.dispatcher.push(
      c.tenantId,
      agent.instanceUid,
      this.target(agent),
      'custom_message',
      customMessage(agent.instanceUid, capability, type, data),
    );
    await this.recordCommand(c, agent, 'custom_message', delivery, { capability, type, data });
    return { delivery };
  }

  // --- configurations ---------------------------------------------------------------

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

  private static readonly CONFIG_SELECT = `SELECT v.configuration_name, c.description, c.format, v.version, v.files, v.content_hash, v.templated,
      v.created_by, c.created_at AS config_created_at, v.created_at
    FROM configurations c JOIN configuration_versions v ON v.tenant_id = c.tenant_id AND v.configuration_name = c.name`;

  private async versionRow(db: SqlExecutor, tenantId: string, name: string, version: number): Promise<Record<string, unknown>> {
    const { rows } = await db.query(
      `${FleetApiService.CONFIG_SELECT} WHERE c.tenant_id = $1 AND c.name = $2 AND v.version = ${version > 0 ? '$3' : 'c.latest_version'}`,
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
    const row = await this.repo.db.transaction(async (tx) => {
      await this.repo.ensureTenant(tx, c.tenantId);
      const ins = await tx.query(
        `INSERT INTO configurations (tenant_id, name, description, format, latest_version, created_by) VALUES ($1, $2, $3, $4, 1, $5)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING name`,
        [c.tenantId, name, description, format, this.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `configuration '${name}' already exists`);
      await tx.query(
        `INSERT INTO configuration_versions (tenant_id, configuration_name, version, files, content_hash, templated, created_by) VALUES ($1, $2, 1, $3::jsonb, $4, $5, $6)`,
        [c.tenantId, name, JSON.stringify(files), hash, Object.values(files).some((f) => isTemplate(f.body)), this.actor(c)],
      );
      await this.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.actor(c), action: 'configuration.create', resourceType: 'configuration', resourceName: name, afterHash: hash, details: { version: 1 } },
        true,
      );
      return this.versionRow(tx, c.tenantId, name, 1);
    });
    return this.configMessage(row);
  }

  async updateConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const { row, changed, selectors } = await this.repo.db.transaction(async (tx) => {
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
          [c.tenantId, name, version, JSON.stringify(files), hash, Object.values(files).some((f) => isTemplate(f.body)), this.actor(c)],
        );
      }
      await tx.query(`UPDATE configurations SET latest_version = $3, description = $4, updated_at = now() WHERE tenant_id = $1 AND name = $2`, [
        c.tenantId,
        name,
        version,
        description,
      ]);
      await this.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
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
      if (version !== latest) await this.recordReevaluation(tx, c.tenantId, sel.rows.map((r) => str(r['selector'])), 'configuration.update');
      return { row: await this.versionRow(tx, c.tenantId, name, version), changed: version !== latest, selectors: sel.rows.map((r) => str(r['selector'])) };
    });
    if (changed) this.reevaluate(c.tenantId, selectors);
    return this.configMessage(row);
  }

  async getConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    return this.configMessage(await this.versionRow(this.repo.db, c.tenantId, name, int(req['version'])));
  }

  async listConfigurations(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.repo.db.query(`${FleetApiService.CONFIG_SELECT} WHERE c.tenant_id = $1 AND v.version = c.latest_version ORDER BY c.name`, [c.tenantId]);
    return { configurations: rows.map((r) => this.configMessage(r)) };
  }

  async listConfigurationVersions(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    const { rows } = await this.repo.db.query(`${FleetApiService.CONFIG_SELECT} WHERE c.tenant_id = $1 AND c.name = $2 ORDER BY v.version DESC`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `configuration '${name}' not found`);
    return { versions: rows.map((r) => this.configMessage(r)) };
  }

  async deleteConfiguration(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'configuration');
    await this.repo.db.transaction(async (tx) => {
      const used = await tx.query(`SELECT name FROM assignments WHERE tenant_id = $1 AND configuration_name = $2 ORDER BY name`, [c.tenantId, name]);
      if (used.rows.length > 0) {
        throw new DesiredStateError(
          'FAILED_PRECONDITION',
          `configuration '${name}' is used by assignment(s) ${used.rows.map((r) => `'${str(r['name'])}'`).join(', ')}; delete or change them first`,
        );
      }
      const latest = await this.versionRow(tx, c.tenantId, name, 0);
      await tx.query(`DELETE FROM configurations WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
      await this.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.actor(c), action: 'configuration.delete', resourceType: 'configuration', resourceName: name, beforeHash: toBuffer(latest['content_hash']) },
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
    const agent = await this.loadAgent(c, req['instanceUid']);
    const row = await this.versionRow(this.repo.db, c.tenantId, name, int(req['version']));
    const version = versionFromRow(c.tenantId, row);
    const components = agent.availableComponentsHash ? (await this.repo.availableComponents([agent.availableComponentsHash])).get(agent.availableComponentsHash.toString('hex')) : undefined;
    const out = renderForAgent(version, { attributes: agent.labels, instanceUidHex: agent.instanceUid.toString('hex'), availableComponents: components });
    if (!out.ok) return { sendable: false, reason: out.reason, files: {}, configHash: '' };
    return { sendable: true, reason: '', files: out.files, configHash: out.hash.toString('hex') };
  }

  // --- assignments ------------------------------------------------------------------

  private assignmentMessage(r: Record<string, unknown>): Record<string, unknown> {
    return {
      name: str(r['name']),
      configurationName: str(r['configuration_name']),
      pinnedVersion: r['pinned_version'] == null ? 0 : toNumber(r['pinned_version']),
      selector: str(r['selector']),
      priority: toNumber(r['priority']),
      createdBy: str(r['created_by']),
      createTime: toIso(r['created_at']),
      updateTime: toIso(r['updated_at']),
    };
  }

  private assignmentInput(req: Req): { name: string; configurationName: string; pinned: number | null; selector: string; priority: number } {
    const a = (req['assignment'] ?? null) as Req | null;
    if (!a || typeof a !== 'object') throw invalidArgument('assignment is required');
    const name = str(a['name']);
    checkResourceName(name, 'assignment');
    const configurationName = str(a['configurationName']);
    checkResourceName(configurationName, 'configuration');
    const pinned = int(a['pinnedVersion']);
    if (pinned < 0) throw invalidArgument('assignment.pinned_version must be >= 0');
    const selector = formatSelector(parseSelectorArgument(str(a['selector']), 'assignment.selector'));
    const priority = int(a['priority']);
    if (Math.abs(priority) > 1_000_000) throw invalidArgument('assignment.priority must be between -1000000 and 1000000');
    return { name, configurationName, pinned: pinned === 0 ? null : pinned, selector, priority };
  }

  private async checkTarget(tx: SqlExecutor, tenantId: string, name: string, pinned: number | null): Promise<Buffer> {
    const row = await this.versionRow(tx, tenantId, name, pinned ?? 0).catch((err: unknown) => {
      if (err instanceof DesiredStateError && err.code === 'NOT_FOUND') throw invalidArgument(`assignment.configuration_name: ${err.message}`);
      throw err;
    });
    return toBuffer(row['content_hash']) ?? Buffer.alloc(0);
  }

  async createAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.assignmentInput(req);
    const row = await this.repo.db.transaction(async (tx) => {
      const hash = await this.checkTarget(tx, c.tenantId, a.configurationName, a.pinned);
      const ins = await tx.query(
        `INSERT INTO assignments (tenant_id, name, configuration_name, pinned_version, selector, priority, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, a.name, a.configurationName, a.pinned, a.selector, a.priority, this.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `assignment '${a.name}' already exists`);
      await this.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: 'assignment.create',
          resourceType: 'assignment',
          resourceName: a.name,
          afterHash: hash,
          details: { configuration: a.configurationName, pinnedVersion: a.pinned, selector: a.selector, priority: a.priority },
        },
        true,
      );
      await this.recordReevaluation(tx, c.tenantId, [a.selector], 'assignment.create');
      return ins.rows[0];
    });
    this.reevaluate(c.tenantId, [a.selector]);
    return this.assignmentMessage(row);
  }

  async updateAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.assignmentInput(req);
    const { row, oldSelector } = await this.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT * FROM assignments WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, a.name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${a.name}' not found`);
      const old = cur.rows[0];
      const oldPinned = old['pinned_version'] == null ? null : toNumber(old['pinned_version']);
      await this.guardRollouts(tx, c.tenantId, a.name, str(old['configuration_name']) !== a.configurationName || oldPinned !== a.pinned);
      const beforeHash = await this.checkTarget(tx, c.tenantId, str(old['configuration_name']), old['pinned_version'] == null ? null : toNumber(old['pinned_version'])).catch(() => null);
      const afterHash = await this.checkTarget(tx, c.tenantId, a.configurationName, a.pinned);
      const upd = await tx.query(
        `UPDATE assignments SET configuration_name = $3, pinned_version = $4, selector = $5, priority = $6, updated_at = now() WHERE tenant_id = $1 AND name = $2 RETURNING *`,
        [c.tenantId, a.name, a.configurationName, a.pinned, a.selector, a.priority],
      );
      await this.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: 'assignment.update',
          resourceType: 'assignment',
          resourceName: a.name,
          beforeHash,
          afterHash,
          details: {
            before: { configuration: str(old['configuration_name']), selector: str(old['selector']), priority: toNumber(old['priority']) },
            after: { configuration: a.configurationName, selector: a.selector, priority: a.priority, pinnedVersion: a.pinned },
          },
        },
        true,
      );
      await this.recordReevaluation(tx, c.tenantId, [str(old['selector']), a.selector], 'assignment.update');
      return { row: upd.rows[0], oldSelector: str(old['selector']) };
    });
    this.reevaluate(c.tenantId, oldSelector === a.selector ? [a.selector] : [oldSelector, a.selector]);
    return this.assignmentMessage(row);
  }

  async getAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'assignment');
    const { rows } = await this.repo.db.query(`SELECT * FROM assignments WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${name}' not found`);
    return this.assignmentMessage(rows[0]);
  }

  async listAssignments(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.repo.db.query(`SELECT * FROM assignments WHERE tenant_id = $1 ORDER BY priority DESC, name`, [c.tenantId]);
    return { assignments: rows.map((r) => this.assignmentMessage(r)) };
  }

  async deleteAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'assignment');
    const selector = await this.repo.db.transaction(async (tx) => {
      await this.guardRollouts(tx, c.tenantId, name, true);
      const del = await tx.query(`DELETE FROM assignments WHERE tenant_id = $1 AND name = $2 RETURNING *`, [c.tenantId, name]);
      if (del.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${name}' not found`);
      await this.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: 'assignment.delete',
          resourceType: 'assignment',
          resourceName: name,
          details: { configuration: str(del.rows[0]['configuration_name']), selector: str(del.rows[0]['selector']) },
        },
        true,
      );
      await this.recordReevaluation(tx, c.tenantId, [str(del.rows[0]['selector'])], 'assignment.delete');
      return str(del.rows[0]['selector']);
    });
    this.reevaluate(c.tenantId, [selector]);
    return {};
  }

  // --- agent tokens -------------------------------------------------------------------

  private tokenMessage(t: TokenRecord): Record<string, unknown> {
    return { id: t.id, name: t.name, createdBy: t.createdBy, createTime: t.createdAt, revokeTime: t.revokedAt };
  }

  async createAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    if (name.length > 200) throw invalidArgument('name is limited to 200 characters');
    const { record, token } = await this.repo.db.transaction(async (tx) => {
      const created = await this.repo.createToken(tx, c.tenantId, 'agent', name, this.actor(c));
      await this.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.actor(c), action: 'agent_token.create', resourceType: 'agent_token', resourceName: created.record.id, details: { name } },
        false,
      );
      return created;
    });
    await this.agentTokens?.put({ digest: record.digest, tenantId: record.tenantId, tokenId: record.id });
    return { token: this.tokenMessage(record), secret: token };
  }

  async listAgentTokens(c: Caller): Promise<Record<string, unknown>> {
    return { tokens: (await this.repo.listTokens(c.tenantId, 'agent')).map((t) => this.tokenMessage(t)) };
  }

  async revokeAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = str(req['id']);
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw invalidArgument('id must be a token id (UUID)');
    const record = await this.repo.db.transaction(async (tx) => {
      const revoked = await this.repo.revokeToken(tx, c.tenantId, 'agent', id);
      if (!revoked) throw new DesiredStateError('NOT_FOUND', `agent token ${id} not found`);
      await this.repo.audit(tx, { tenantId: c.tenantId, actor: this.actor(c), action: 'agent_token.revoke', resourceType: 'agent_token', resourceName: id }, false);
      return revoked;
    });
    await this.agentTokens?.remove(record.digest);
    return this.tokenMessage(record);
  }

  // --- audit ----------------------------------------------------------------------------

  async listAuditEvents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const limit = pageSize(req['pageSize']);
    const before = pageToken(req['pageToken'], 'audit');
    if (before !== null && !/^\d+$/.test(before)) throw invalidArgument('page_token is not valid for this request');
    const params: unknown[] = [c.tenantId];
    let where = 'tenant_id = $1';
    const resource = str(req['resourceName']);
    if (resource) {
      params.push(resource);
      where += ` AND resource_name = $${params.length}`;
    }
    for (const pattern of auditSearchPatterns(str(req['query']))) {
      params.push(pattern);
      where += ` AND ${auditSearchSql(`$${params.length}`)}`;
    }
    if (before !== null) {
      params.push(before);
      where += ` AND id < $${params.length}::bigint`;
    }
    params.push(limit + 1);
    const { rows } = await this.repo.db.query(`SELECT * FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`, params);
    const page = rows.slice(0, limit);
    return {
      events: page.map((r) => ({
        id: str(r['id']),
        actor: str(r['actor']),
        action: str(r['action']),
        resourceType: str(r['resource_type']),
        resourceName: str(r['resource_name']),
        beforeHash: hex(toBuffer(r['before_hash'])),
        afterHash: hex(toBuffer(r['after_hash'])),
        time: toIso(r['created_at']),
        detailsJson: JSON.stringify(r['details'] ?? {}),
      })),
      nextPageToken: rows.length > limit ? makePageToken('audit', str(page[page.length - 1]['id'])) : '',
    };
  }

  // --- watch ----------------------------------------------------------------------------

  /** Opens a WatchAgents stream of the caller's tenant, with the ListAgents filters. */
  watchAgents(c: Caller, req: Req): AgentWatch {
    const statuses = Array.isArray(req['configStatuses']) ? (req['configStatuses'] as unknown[]) : [];
    const filter: AgentWatchFilter = {
      selector: parseSelectorArgument(str(req['selector'])),
      connected: typeof req['connected'] === 'boolean' ? req['connected'] : undefined,
      healthy: typeof req['healthy'] === 'boolean' ? req['healthy'] : undefined,
      inSync: typeof req['inSync'] === 'boolean' ? req['inSync'] : undefined,
      configStatuses: statuses.map((st) => {
        const i = typeof st === 'number' ? st : STATUS_NAMES.indexOf(str(st));
        if (i < 0 || i >= STATUS_NAMES.length) throw invalidArgument(`config_statuses: unknown status ${JSON.stringify(st)}`);
        return i;
      }),
    };
    return this.watches.open(c.tenantId, filter);
  }
}
