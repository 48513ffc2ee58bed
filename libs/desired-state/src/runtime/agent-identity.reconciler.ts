/**
 * Agents' identity, level-triggered on agent events like configurations:
 * - an agent on an enrollment token is enrolled (the token's use counted,
 *   refused beyond its limit) and, when it accepts OpAMP connection settings
 *   (0x100), offered a credential of its own;
 * - an agent seen with its offered credential has it activated: the one it
 *   replaces is superseded and refused by every gateway from then on (C64);
 * - an agent on its active credential with a newer one on offer (a rotation)
 *   is offered that one;
 * - every offer is shaped by the agent's connection profile (the highest
 *   priority one its labels match), so an agent on its own credential is
 *   offered again whenever that content changes (core/agent-credential.ts
 *   decides; a profile change re-evaluates its agents through reconcileAgents).
 * Gateways learn every change through the credential directory before the
 * offer leaves, so the agent's reconnect with the new credential is accepted.
 */
import { AgentEventCodec, EnvelopeDecodeError, fleet } from '@opamp/contracts';
import { badRequestReply, mayOffer, opamp } from '@opamp/protocol';
import {
  connectionOffer,
  connectionSettingsMessage,
  decideCredentialOffer,
  DEFAULT_OFFER_HEARTBEAT_S,
  resolveAssignment,
  sendConnection,
  type ConnectionProfile,
} from '../core';
import type { AgentPushDispatcher, PushTarget } from '../store/agent-push.dispatcher';
import { directoryEntry, type AgentCredentialRecord, type AgentCredentialRepository, type CredentialDirectoryEntry } from '../store/agent-credential.repository';
import { ConnectionProfileRepository } from '../store/connection-profile.repository';
import { toBuffer, type DesiredStateRepository } from '../store/desired-state.repository';

/** Where gateways learn which credentials they accept (Redis directory, or the embedded edge). */
export interface CredentialDirectory {
  put(entry: CredentialDirectoryEntry): Promise<void>;
  remove(digest: string): Promise<void>;
  /** Many at once (a group's rotation or revocation): one pipelined round trip per chunk where the directory can. */
  putMany?(entries: readonly CredentialDirectoryEntry[]): Promise<void>;
  removeMany?(digests: readonly string[]): Promise<void>;
}

/** Puts entries through the directory's batch call when it has one, else one by one. */
export async function putAll(directory: CredentialDirectory, entries: readonly CredentialDirectoryEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (directory.putMany) return directory.putMany(entries);
  for (const e of entries) await directory.put(e);
}

export async function removeAll(directory: CredentialDirectory, digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return;
  if (directory.removeMany) return directory.removeMany(digests);
  for (const d of digests) await directory.remove(d);
}

export interface AgentIdentityOptions {
  /** The OpAMP URL agents are told to use (its ws/http form per transport); null: no offers. A function when known only later (a port chosen at start). */
  publicEndpoint: string | null | (() => string | null);
  heartbeatIntervalSeconds?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  now?: () => number;
  /** The agent's client certificate its offers carry (issue 18: runtime/agent-certificate.reconciler.ts). */
  certificateOf?: (tenantId: string, uid: Buffer) => Promise<opamp.proto.v1.ITLSCertificate | null>;
}

export interface AgentIdentityMetrics {
  /** Event records of batches fully handled. */
  eventsHandled: number;
  enrolled: number;
  enrollmentsRefused: number;
  credentialsIssued: number;
  offersSent: number;
  activations: number;
  revocations: number;
}

const C = fleet.v1.AgentChange;
// A description change may change the agent's labels, and so its connection profile.
const RELEVANT = C.AGENT_CHANGE_CONNECTION | C.AGENT_CHANGE_CREDENTIAL | C.AGENT_CHANGE_CAPABILITIES | C.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS | C.AGENT_CHANGE_DESCRIPTION;
const K = fleet.v1.CredentialKind;

export class AgentIdentityReconciler {
  readonly metrics: AgentIdentityMetrics = { eventsHandled: 0, enrolled: 0, enrollmentsRefused: 0, credentialsIssued: 0, offersSent: 0, activations: 0, revocations: 0 };
  private warnedNoOffers = false;
  private readonly now: () => number;
  private readonly profiles: ConnectionProfileRepository;

  constructor(
    private readonly credentials: AgentCredentialRepository,
    private readonly repo: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly directory: CredentialDirectory,
    private readonly options: AgentIdentityOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.profiles = new ConnectionProfileRepository(repo.db);
  }

  /** Handles one batch of AgentEvent records (the latest event per agent counts). */
  async handleEventRecords(values: ReadonlyArray<Buffer | null>): Promise<void> {
    const latest = new Map<string, fleet.v1.AgentEvent>();
    for (const value of values) {
      if (!value) continue;
      let e: fleet.v1.AgentEvent;
      try {
        e = AgentEventCodec.decode(value);
      } catch (err) {
        if (err instanceof EnvelopeDecodeError) continue;
        throw err;
      }
      if (!e.tenantId || e.instanceUid?.length !== 16) continue;
      const key = `${e.tenantId}/${Buffer.from(e.instanceUid).toString('hex')}`;
      const earlier = latest.get(key);
      // A later event of the same agent carries the latest state; a relevant change seen earlier in the batch still counts.
      if (earlier) e.changes = Number(e.changes ?? 0) | Number(earlier.changes ?? 0);
      latest.set(key, e);
    }
    const byTenant = new Map<string, fleet.v1.AgentEvent[]>();
    for (const e of latest.values()) {
      const moved = e.previousInstanceUid?.length === 16;
      if (!moved && ((Number(e.changes ?? 0) & RELEVANT) === 0 || e.owner?.connected !== true || !e.credentialId)) continue;
      byTenant.set(e.tenantId, [...(byTenant.get(e.tenantId) ?? []), e]);
    }
    for (const [tenantId, events] of byTenant) await this.handleTenant(tenantId, events);
    this.metrics.eventsHandled += values.length;
  }

  /**
   * Works the given connected agents of a tenant from their rows (after an
   * API change: a rotation puts new credentials on offer), page by page.
   */
  async reconcileAgents(tenantId: string, uids: readonly Buffer[], pageSize = 500): Promise<void> {
    for (let i = 0; i < uids.length; i += pageSize) {
      const { rows } = await this.repo.db.query(
        `SELECT instance_uid, capabilities, gateway_id, connection_id, epoch, transport, credential_id, credential_kind,
                connection_settings_hash, connection_settings_status, labels
           FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND connected AND credential_id IS NOT NULL`,
        [tenantId, uids.slice(i, i + pageSize)],
      );
      const events = rows.map((r) =>
        fleet.v1.AgentEvent.create({
          tenantId,
          instanceUid: toBuffer(r['instance_uid']) as Buffer,
          changes: C.AGENT_CHANGE_CONNECTION,
          capabilities: Number(r['capabilities']),
          labels: Object.entries(labelsOf(r['labels'])).map(([key, value]) => ({ key, value })),
          owner: { connected: true, gatewayId: String(r['gateway_id'] ?? ''), connectionId: String(r['connection_id'] ?? ''), epoch: Number(r['epoch']), transport: Number(r['transport'] ?? 0) },
          credentialId: String(r['credential_id']),
          credentialKind: Number(r['credential_kind']),
          connectionSettingsHash: toBuffer(r['connection_settings_hash']) ?? undefined,
          connectionSettingsStatus: Number(r['connection_settings_status'] ?? 0),
        }),
      );
      if (events.length > 0) await this.handleTenant(tenantId, events);
    }
  }

  private async handleTenant(tenantId: string, events: fleet.v1.AgentEvent[]): Promise<void> {
    for (const e of events) {
      const prev = e.previousInstanceUid?.length === 16 ? Buffer.from(e.previousInstanceUid) : null;
      if (!prev) continue;
      const moved = await this.repo.db.transaction((tx) => this.credentials.moveAgent(tx, tenantId, prev, Buffer.from(e.instanceUid)));
      // The same digests, now naming the new uid.
      for (const c of moved) await this.directory.put(directoryEntry(c));
    }
    const live = await this.credentials.liveOf(tenantId, events.map((e) => Buffer.from(e.instanceUid)));
    const profiles = await this.profiles.ordered(tenantId);
    for (const e of events) {
      if (!e.credentialId || e.owner?.connected !== true) continue;
      const uid = Buffer.from(e.instanceUid);
      const creds = live.get(uid.toString('hex')) ?? [];
      const offered = creds.find((c) => c.state === 'offered') ?? null;
      const target = targetOf(e);
      if (e.credentialKind === K.CREDENTIAL_KIND_AGENT) {
        if (offered && e.credentialId === offered.id) {
          const active = await this.activate(tenantId, uid, offered);
          // What it switched to may not be all it should hold now (a profile changed meanwhile, its
          // offer dropped while the agent was applying the last one): decided again, on the active one.
          if (active) await this.offer(e, active, target, profiles);
          continue;
        }
        // A rotation's new credential, else the one it is on: the offer carries it (and its profile's settings).
        const holding = offered ?? creds.find((c) => c.state === 'active' && c.id === e.credentialId) ?? null;
        if (holding) await this.offer(e, holding, target, profiles);
        continue;
      }
      // An enrollment token (or a static one of the gateway's).
      const outcome = await this.repo.db.transaction(async (tx) => {
        const o = await this.credentials.enroll(tx, tenantId, uid, e.credentialId);
        if (o !== 'known') {
          const action = o === 'exhausted' ? 'agent.enrollment_refused' : o === 're_enrolled' ? 'agent.re_enroll' : 'agent.enroll';
          await this.repo.audit(tx, { tenantId, actor: 'system', action, resourceType: 'agent', resourceName: uid.toString('hex'), details: { enrollmentTokenId: e.credentialId } }, false);
        }
        return o;
      });
      if (outcome === 'exhausted') {
        this.metrics.enrollmentsRefused++;
        const refusal = badRequestReply(uid, 'the enrollment token has reached its use limit: no further agents may enroll with it');
        await this.dispatcher.push(tenantId, uid, target, 'error', refusal, true).catch(() => undefined);
        continue;
      }
      if (outcome !== 'known') this.metrics.enrolled++;
      if (!mayOffer(Number(e.capabilities ?? 0), 'connection_settings.opamp')) continue;
      if (!this.credentials.issuing || !this.endpoint()) {
        if (!this.warnedNoOffers) this.options.log?.('warn', 'agents accept their own credentials, but no credential key or public OpAMP endpoint is configured: none are issued');
        this.warnedNoOffers = true;
        continue;
      }
      let credential = offered;
      if (!credential) {
        // An agent with an active credential is not on a token any more (gateways refuse that): this
        // event or row is older than its switch (a plain-HTTP agent's row can lag its first poll).
        // Its offer is that credential's, with its profile.
        const active = creds.find((c) => c.state === 'active');
        if (active) {
          await this.offer(e, active, target, profiles);
          continue;
        }
        credential = await this.repo.db.transaction(async (tx) => {
          const c = await this.credentials.createOffered(tx, tenantId, uid, e.credentialId);
          await this.repo.audit(tx, { tenantId, actor: 'system', action: 'agent_credential.issue', resourceType: 'agent', resourceName: uid.toString('hex'), details: { credentialId: c.id } }, false);
          return c;
        });
        this.metrics.credentialsIssued++;
        // Gateways must accept it before the agent can try it.
        await this.directory.put(directoryEntry(credential));
      }
      await this.offer(e, credential, target, profiles);
    }
  }

  private endpoint(): string | null {
    const e = this.options.publicEndpoint;
    return typeof e === 'function' ? e() : e;
  }

  private async activate(tenantId: string, uid: Buffer, offered: AgentCredentialRecord): Promise<AgentCredentialRecord | null> {
    const done = await this.repo.db.transaction(async (tx) => {
      const r = await this.credentials.activate(tx, tenantId, uid, offered.id);
      if (r) {
        await this.repo.audit(
          tx,
          { tenantId, actor: 'system', action: 'agent_credential.activate', resourceType: 'agent', resourceName: uid.toString('hex'), details: { credentialId: r.active.id, superseded: r.superseded.map((c) => c.id) } },
          false,
        );
      }
      return r;
    });
    if (!done) return null;
    this.metrics.activations++;
    await this.directory.put(directoryEntry(done.active));
    for (const old of done.superseded) await this.directory.remove(directoryEntry(old).digest);
    return done.active;
  }

  private async offer(e: fleet.v1.AgentEvent, credential: AgentCredentialRecord, target: PushTarget, profiles: readonly ConnectionProfile[]): Promise<void> {
    const endpoint = this.endpoint();
    if (!endpoint || !this.credentials.issuing) return;
    const capabilities = Number(e.capabilities ?? 0);
    const profile = resolveAssignment(profiles, eventLabels(e));
    const offers = connectionOffer(
      {
        publicEndpoint: endpoint,
        transport: target.transport === fleet.v1.Transport.TRANSPORT_HTTP ? 'http' : 'ws',
        secret: this.credentials.secretOf(credential),
        heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds ?? DEFAULT_OFFER_HEARTBEAT_S,
        certificate: (await this.options.certificateOf?.(e.tenantId, Buffer.from(e.instanceUid))) ?? null,
      },
      profile?.spec ?? null,
      capabilities,
    );
    if (!offers) return;
    const hash = Buffer.from(offers.hash as Uint8Array);
    const connection = sendConnection(target);
    const decision = decideCredentialOffer(
      {
        capabilities,
        connectedWith: e.credentialId,
        desiredCredentialId: credential.id,
        desiredHash: hash,
        reportedHash: e.connectionSettingsHash?.length ? Buffer.from(e.connectionSettingsHash) : null,
        reportedStatus: e.connectionSettingsStatus ?? opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_UNSET,
        offeredHash: credential.offeredHash,
        offeredConnection: credential.offeredConnection,
        offeredAtMs: credential.offeredAt ? Date.parse(credential.offeredAt) : null,
      },
      connection,
      this.now(),
    );
    if (!decision.send) return;
    await this.dispatcher.push(e.tenantId, Buffer.from(e.instanceUid), target, 'connection_settings', connectionSettingsMessage(e.instanceUid, offers));
    await this.credentials.markOffered(e.tenantId, credential.id, connection, hash);
    this.metrics.offersSent++;
  }
}

function eventLabels(e: fleet.v1.AgentEvent): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of e.labels ?? []) if (l.key) labels[l.key] = l.value ?? '';
  return labels;
}

/** agents.labels (jsonb) as a plain map of strings. */
function labelsOf(v: unknown): Record<string, string> {
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, x]) => [k, String(x ?? '')]));
}

function targetOf(e: fleet.v1.AgentEvent): PushTarget {
  const owner = e.owner;
  return {
    connected: owner?.connected === true,
    gatewayId: owner?.gatewayId || null,
    connectionId: owner?.connectionId ?? '',
    epoch: Number(owner?.epoch ?? 0),
    transport: owner?.transport ?? 0,
  };
}
