/**
 * The agents part of the platform API: listing (filters, server-side order,
 * keyset pages), one agent's detail, fleet counts, commands (restart, custom
 * messages), deletion and WatchAgents streams.
 */
import { AgentCapabilities, capabilityNames } from '@opamp/protocol';
import { deleteAgentRecords } from '@opamp/store';
import {
  agentPagePosition,
  agentPageSql,
  CERTIFICATE_SUMMARY_COLUMNS,
  CERTIFICATE_SUMMARY_JOIN,
  certificateExpirySql,
  certificateSummaryFromRow,
  checkedExpiryWindow,
  CREDENTIAL_SUMMARY_COLUMNS,
  CREDENTIAL_SUMMARY_JOIN,
  credentialStateSql,
  credentialSummaryFromRow,
  customMessage,
  decodeAgentPageToken,
  DesiredStateError,
  encodeAgentPageToken,
  gateCustomMessage,
  gateRestart,
  invalidArgument,
  isInSync,
  parseAgentOrder,
  parseCredentialStates,
  parseSelectorArgument,
  restartMessage,
  selectorToSql,
  type AgentWatchFilter,
} from '../core';
import { TRANSPORT_HTTP, TRANSPORT_WEBSOCKET, type Delivery } from '../store/agent-push.dispatcher';
import { AGENT_COLUMNS, AGENT_FROM, agentFromRow, toBuffer, toIso, toNumber, type AgentRow } from '../store/desired-state.repository';
import { AgentWatchHub, type AgentWatch, type AgentWatchHubOptions } from '../runtime/agent-watch.hub';
import { componentDetailsMap, componentHealthMessage, effectiveConfigFiles, packageStatusesMessage } from './agent-detail';
import type { ApiContext, Caller } from './api-context';
import { configStatuses, hex, instanceUid, int, pageSize, STATUS_NAMES, str, type Req } from './request-fields';

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

/**
 * The health the API counts and filters on: the last reported health while the agent is
 * connected, unknown (NULL) while it is not (a disconnected agent is healthy in no count; its
 * last report is shown as last_known_health). Mirrors viewHealthy.
 */
const HEALTHY_SQL = '(CASE WHEN a.connected THEN a.healthy END)';

/** The API's health of an agent row: unknown while disconnected (HEALTHY_SQL). */
export function viewHealthy(a: Pick<AgentRow, 'connected' | 'healthy'>): boolean | null {
  return a.connected ? a.healthy : null;
}

function healthState(healthy: boolean | null): string {
  return healthy === null ? 'HEALTH_STATE_UNKNOWN' : healthy ? 'HEALTH_STATE_HEALTHY' : 'HEALTH_STATE_UNHEALTHY';
}

/** FleetCounts as SQL aggregates, in the order of COUNT_FIELDS. */
const COUNT_FIELDS = ['agents', 'connected', 'disconnected', 'healthy', 'unhealthy', 'healthUnknown', 'inSync', 'outOfSync', 'unassigned', 'configFailed', 'configApplying'] as const;
const COUNT_SQL = [
  'count(*)',
  'count(*) FILTER (WHERE a.connected)',
  'count(*) FILTER (WHERE NOT a.connected)',
  `count(*) FILTER (WHERE ${HEALTHY_SQL})`,
  `count(*) FILTER (WHERE NOT ${HEALTHY_SQL})`,
  `count(*) FILTER (WHERE ${HEALTHY_SQL} IS NULL)`,
  `count(*) FILTER (WHERE ${IN_SYNC_SQL})`,
  `count(*) FILTER (WHERE NOT ${IN_SYNC_SQL})`,
  "count(*) FILTER (WHERE coalesce(s.configuration_name, '') = '')",
  'count(*) FILTER (WHERE a.remote_config_status = 3)',
  'count(*) FILTER (WHERE a.remote_config_status = 2)',
]
  .map((sql, i) => `${sql} AS c${i}`)
  .join(', ');

/** What ListAgents and GetAgent read: the agent row and its credential and certificate summaries (one aggregate each per row shown). */
const LISTED_COLUMNS = `${AGENT_COLUMNS}, ${CREDENTIAL_SUMMARY_COLUMNS}, ${CERTIFICATE_SUMMARY_COLUMNS}`;
const LISTED_FROM = `${AGENT_FROM} ${CREDENTIAL_SUMMARY_JOIN} ${CERTIFICATE_SUMMARY_JOIN}`;

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

/** Publishes "these agents of this tenant changed" on the agent-change feed (contracts AgentChangeFeed). */
export type AgentsChanged = (tenantId: string, instanceUids: readonly Buffer[]) => void;

export class AgentApi {
  /** WatchAgents streams of this replica; fed by the agent-change feed (the host wires it). */
  readonly watches: AgentWatchHub;
  private readonly agentsChanged: AgentsChanged;

  constructor(
    private readonly ctx: ApiContext,
    options: { watch?: AgentWatchHubOptions; onAgentsChanged?: AgentsChanged } = {},
  ) {
    // Without a feed (one process, no other replica) the change goes straight to this replica's watches.
    this.agentsChanged = options.onAgentsChanged ?? ((tenantId, uids) => this.watches.notice(tenantId, uids));
    this.watches = new AgentWatchHub(
      ctx.repo,
      (row) => {
        const message = this.agentMessage(row);
        return {
          message,
          facts: { labels: row.labels, connected: row.connected, healthy: viewHealthy(row), inSync: message['inSync'] === true, remoteConfigStatus: row.remoteConfigStatus },
        };
      },
      options.watch,
    );
  }

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
      health: healthState(viewHealthy(a)),
      lastKnownHealth: healthState(a.healthy),
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
      connectedSince: a.connectedSince,
      effectiveConfigHash: hex(a.effectiveConfigHash),
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
      where.push(`${HEALTHY_SQL} = $${params.length}`);
    }
    const nums = configStatuses(req['configStatuses']);
    if (nums.length > 0) {
      params.push(nums);
      where.push(`a.remote_config_status = ANY($${params.length}::smallint[])`);
    }
    if (typeof req['inSync'] === 'boolean') where.push(req['inSync'] ? IN_SYNC_SQL : `NOT ${IN_SYNC_SQL}`);
    const credentialStates = parseCredentialStates(req['credentialState']);
    if (credentialStates.length > 0) where.push(credentialStateSql(credentialStates));
    const expiryDays = checkedExpiryWindow(int(req['certificateExpiresWithinDays'], 'certificate_expires_within_days'));
    if (expiryDays > 0) {
      params.push(expiryDays);
      where.push(certificateExpirySql(params.length));
    }
    const page = agentPageSql({ order, columns: LISTED_COLUMNS, from: LISTED_FROM, where, params, after, limit: limit + 1 });
    const { rows } = await this.ctx.repo.db.query(page.sql, page.params);
    const agents = rows.slice(0, limit).map(agentFromRow);
    const more = rows.length > limit;
    return {
      agents: agents.map((a, i) => ({ ...this.agentMessage(a), credential: credentialSummaryFromRow(rows[i], toIso), certificate: certificateSummaryFromRow(rows[i], toIso) })),
      nextPageToken: more ? encodeAgentPageToken(order, agentPagePosition(rows[limit - 1], agents[limit - 1].instanceUid.toString('hex'))) : '',
    };
  }

  /** The caller's agent of that uid; NOT_FOUND otherwise. */
  async loadAgent(c: Caller, uidValue: unknown): Promise<AgentRow> {
    const uid = instanceUid(uidValue);
    const { rows } = await this.ctx.repo.db.query(`SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM} WHERE a.tenant_id = $1 AND a.instance_uid = $2`, [
      c.tenantId,
      uid,
    ]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `agent ${uid.toString('hex')} not found`);
    return agentFromRow(rows[0]);
  }

  async getAgent(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const { rows } = await this.ctx.repo.db.query(
      `SELECT ${LISTED_COLUMNS}, a.health, a.package_statuses, e.config_map, ac.components
         FROM ${LISTED_FROM}
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
      credential: credentialSummaryFromRow(r, toIso),
      certificate: certificateSummaryFromRow(r, toIso),
      ...(health ? { componentHealth: health } : {}),
      effectiveConfig: effectiveConfigFiles(toBuffer(r['config_map'])),
      packageStatuses: packages.packages,
      packageStatusesError: packages.error,
      availableComponents: componentDetailsMap(r['components']),
      availableComponentsHash: hex(a.availableComponentsHash),
    };
  }

  private readonly labelKeysCache = new Map<string, { at: number; keys: string[] }>();

  /** The label keys of a tenant's agents, most common first (cached for LABEL_KEYS_TTL_MS). */
  private async labelKeys(tenantId: string): Promise<string[]> {
    const hit = this.labelKeysCache.get(tenantId);
    if (hit && Date.now() - hit.at < LABEL_KEYS_TTL_MS) return hit.keys;
    const { rows } = await this.ctx.repo.db.query(
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
    const [{ rows }, labelKeys] = await Promise.all([this.ctx.repo.db.query(sql, params), this.labelKeys(c.tenantId)]);
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
    await this.ctx.repo.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO agent_commands (tenant_id, instance_uid, kind, capability, message_type, data, delivery, requested_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [c.tenantId, a.instanceUid, kind, extra.capability ?? null, extra.type ?? null, extra.data ?? null, delivery, this.ctx.actor(c)],
      );
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
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
    const delivery = await this.ctx.dispatcher.push(c.tenantId, agent.instanceUid, this.target(agent), 'command', restartMessage(agent.instanceUid));
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
    const delivery = await this.ctx.dispatcher.push(
      c.tenantId,
      agent.instanceUid,
      this.target(agent),
      'custom_message',
      customMessage(agent.instanceUid, capability, type, data),
    );
    await this.recordCommand(c, agent, 'custom_message', delivery, { capability, type, data });
    return { delivery };
  }

  /**
   * Removes a disconnected agent: its row, the tombstones of uids it replaced,
   * its reconcile state, rollout places and command records (libs/store
   * agent-records.ts), then its Redis state (cursor, live index, pending
   * pushes); the audit log keeps its history and records the deletion. A
   * connected agent is refused: it would be back with its next message, so
   * the operator disconnects it first and retries. The row is locked, so a
   * reconnect racing the deletion either wins (refused) or waits and then
   * creates the agent anew (status-ingest asks it for its full state).
   */
  async deleteAgent(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const hexUid = uid.toString('hex');
    const removed = await this.ctx.repo.db.transaction(async (tx) => {
      const { rows } = await tx.query(`SELECT connected, last_seen_at FROM agents WHERE tenant_id = $1 AND instance_uid = $2 FOR UPDATE`, [c.tenantId, uid]);
      if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `agent ${hexUid} not found`);
      if (rows[0]['connected'] === true) {
        throw new DesiredStateError('FAILED_PRECONDITION', `agent ${hexUid} is connected: it would come back with its next message; stop it or revoke its token, then delete it`);
      }
      const uids = await deleteAgentRecords(tx, c.tenantId, [uid]);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'agent.delete',
          resourceType: 'agent',
          resourceName: hexUid,
          details: { agentsRemoved: uids.length, lastSeenTime: rows[0]['last_seen_at'] ? toIso(rows[0]['last_seen_at']) : '' },
        },
        false,
      );
      return uids;
    });
    await this.ctx.agentState?.erase(c.tenantId, removed);
    // After the commit: every replica's watches read the agents again, find them gone, and say REMOVED.
    this.agentsChanged(c.tenantId, removed);
    return { agentsRemoved: removed.length };
  }

  /** Opens a WatchAgents stream of the caller's tenant, with the ListAgents filters. */
  watchAgents(c: Caller, req: Req): AgentWatch {
    const filter: AgentWatchFilter = {
      selector: parseSelectorArgument(str(req['selector'])),
      connected: typeof req['connected'] === 'boolean' ? req['connected'] : undefined,
      healthy: typeof req['healthy'] === 'boolean' ? req['healthy'] : undefined,
      inSync: typeof req['inSync'] === 'boolean' ? req['inSync'] : undefined,
      configStatuses: configStatuses(req['configStatuses']),
    };
    return this.watches.open(c.tenantId, filter);
  }
}
