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
 *   decides; a profile change makes their offers due, and the offer queue
 *   hands them to reconcileAgents); the own-telemetry part goes to this
 *   server's OTLP receiver (the public endpoint's host) where the tenant
 *   enabled it and the profile names no destination.
 * - an offer the agent reports FAILED is recorded once per offer and, for a
 *   credential on offer, retried after its back-off with a fresh credential.
 * A batch costs a few statements whatever its size (core/identity-batch.ts
 * decides, the repository writes multi-row): its enrollments in one
 * transaction, the credentials they need in another, its activations in a
 * third, and every offer sent recorded with one UPDATE. Gateways learn every
 * change through the credential directory (once per batch) before the offer
 * leaves, so the agent's reconnect with the new credential is accepted.
 */
import { AgentEventCodec, EnvelopeDecodeError, fleet } from '@opamp/contracts';
import { badRequestReply, mayOffer, opamp } from '@opamp/protocol';
import {
  afterEnrollment,
  connectionOffer,
  connectionSettingsMessage,
  decideCredentialOffer,
  DEFAULT_OFFER_HEARTBEAT_S,
  DEFAULT_OFFER_RETRY,
  offerRetryAt,
  ownTelemetryOrigin,
  planIdentityBatch,
  resolveAssignment,
  sendConnection,
  type BatchAgent,
  type ConnectionProfile,
  type CredentialOfferReason,
  type OfferRetryPolicy,
} from '../core';
import type { AgentPushDispatcher, PushTarget } from '../store/agent-push.dispatcher';
import { directoryEntry, type AgentCredentialRecord, type AgentCredentialRepository, type CredentialDirectoryEntry, type EnrollmentOutcome } from '../store/agent-credential.repository';
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
  /** Offers (and refusals) pushed at once at most, as the configuration reconciler's pushConcurrency. */
  pushConcurrency?: number;
  /** Back-off and retries of an offer the agent reported FAILED (default: the limits file's). */
  offerRetry?: OfferRetryPolicy;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  now?: () => number;
  /** The client certificates agents' offers carry, by uid (hex), one read per batch (issue 18: runtime/agent-certificate.reconciler.ts). */
  certificatesOf?: (tenantId: string, uids: readonly Buffer[]) => Promise<ReadonlyMap<string, opamp.proto.v1.ITLSCertificate>>;
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
  /** FAILED reports recorded for offers (each offer once). */
  offersFailed: number;
  /** Failed offers retried with a fresh credential. */
  offersRetried: number;
}

const C = fleet.v1.AgentChange;
// A description change may change the agent's labels, and so its connection profile.
const RELEVANT = C.AGENT_CHANGE_CONNECTION | C.AGENT_CHANGE_CREDENTIAL | C.AGENT_CHANGE_CAPABILITIES | C.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS | C.AGENT_CHANGE_DESCRIPTION;
const K = fleet.v1.CredentialKind;

export class AgentIdentityReconciler {
  readonly metrics: AgentIdentityMetrics = { eventsHandled: 0, enrolled: 0, enrollmentsRefused: 0, credentialsIssued: 0, offersSent: 0, activations: 0, revocations: 0, offersFailed: 0, offersRetried: 0 };
  private warnedNoOffers = false;
  private readonly now: () => number;
  private readonly retry: OfferRetryPolicy;
  private readonly profiles: ConnectionProfileRepository;

  constructor(
    private readonly credentials: AgentCredentialRepository,
    private readonly repo: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly directory: CredentialDirectory,
    private readonly options: AgentIdentityOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.retry = options.offerRetry ?? DEFAULT_OFFER_RETRY;
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
      const list = byTenant.get(e.tenantId);
      if (list) list.push(e);
      else byTenant.set(e.tenantId, [e]);
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

  /**
   * One tenant's part of a batch, worked as a batch: moves, then activations
   * (one transaction), enrollments (one transaction) and the credentials they
   * need (one transaction), the directory written once for each before any
   * offer leaves, then every offer pushed (bounded concurrency) and recorded
   * with one UPDATE.
   */
  private async handleTenant(tenantId: string, events: fleet.v1.AgentEvent[]): Promise<void> {
    await this.moveAll(tenantId, events);
    const live = await this.credentials.liveOf(tenantId, events.map((e) => Buffer.from(e.instanceUid)));
    const profiles = await this.profiles.ordered(tenantId);
    const toServer = await this.ownTelemetryToServer(tenantId);
    const agents: BatchEvent[] = [];
    for (const e of events) {
      if (!e.credentialId || e.owner?.connected !== true) continue;
      const uid = Buffer.from(e.instanceUid);
      agents.push({ key: uid.toString('hex'), credentialId: e.credentialId, ownCredential: e.credentialKind === K.CREDENTIAL_KIND_AGENT, event: e, uid });
    }
    const steps = planIdentityBatch(agents, live);
    const offers: OfferItem[] = [];
    const activations = steps.flatMap((s) => (s.step === 'activate' ? [s] : []));
    if (activations.length > 0) {
      const activated = await this.activateAll(tenantId, activations.map((s) => ({ uid: s.agent.uid, id: s.offered.id })));
      // What it switched to may not be all it should hold now (a profile changed meanwhile, its
      // offer dropped while the agent was applying the last one): decided again, on the active one.
      for (const s of activations) {
        const active = activated.get(s.agent.key);
        if (active) offers.push({ event: s.agent.event, credential: active });
      }
    }
    const byId = (key: string, id: string) => (live.get(key) ?? []).find((c) => c.id === id) as AgentCredentialRecord;
    for (const s of steps) if (s.step === 'offer') offers.push({ event: s.agent.event, credential: byId(s.agent.key, s.credential.id) });
    const enrolling = steps.flatMap((s) => (s.step === 'enroll' ? [s.agent] : []));
    const refusals: BatchEvent[] = [];
    if (enrolling.length > 0) {
      const outcomes = await this.enrollAll(tenantId, enrolling);
      const issue: BatchEvent[] = [];
      for (const a of enrolling) {
        const outcome = outcomes.get(a.key) ?? 'known';
        if (outcome !== 'known' && outcome !== 'exhausted') this.metrics.enrolled++;
        const accepts = mayOffer(Number(a.event.capabilities ?? 0), 'connection_settings.opamp');
        const issuing = this.credentials.issuing && this.endpoint() !== null;
        if (accepts && !issuing && outcome !== 'exhausted') {
          if (!this.warnedNoOffers) this.options.log?.('warn', 'agents accept their own credentials, but no credential key or public OpAMP endpoint is configured: none are issued');
          this.warnedNoOffers = true;
        }
        // An agent with an active credential is not on a token any more (gateways refuse that): this
        // event or row is older than its switch (a plain-HTTP agent's row can lag its first poll).
        // Its offer is that credential's, with its profile.
        const next = afterEnrollment(outcome === 'exhausted', accepts, issuing, live.get(a.key) ?? []);
        if (next.next === 'refuse') refusals.push(a);
        else if (next.next === 'offer') offers.push({ event: a.event, credential: byId(a.key, next.credential.id) });
        else if (next.next === 'issue') issue.push(a);
      }
      const issuing = new Map(issue.map((a) => [a.key, a]));
      for (const c of await this.issueAll(tenantId, issue)) {
        const a = issuing.get(c.instanceUid.toString('hex'));
        if (a) offers.push({ event: a.event, credential: c });
      }
    }
    this.metrics.enrollmentsRefused += refusals.length;
    await this.pushBounded(
      refusals.map((a) => () => {
        const refusal = badRequestReply(a.uid, 'the enrollment token has reached its use limit: no further agents may enroll with it');
        return this.dispatcher.push(tenantId, a.uid, targetOf(a.event), 'error', refusal, true).then(() => undefined, () => undefined);
      }),
    );
    await this.offerAll(tenantId, offers, profiles, toServer);
  }

  private async ownTelemetryToServer(tenantId: string): Promise<boolean> {
    const { rows } = await this.repo.db.query(`SELECT own_telemetry_to_server FROM tenants WHERE id = $1`, [tenantId]);
    return rows[0]?.['own_telemetry_to_server'] === true;
  }

  private endpoint(): string | null {
    const e = this.options.publicEndpoint;
    return typeof e === 'function' ? e() : e;
  }

  /** Agents the server gave a new instance_uid: their enrollment and credentials follow (rare: one transaction each). */
  private async moveAll(tenantId: string, events: readonly fleet.v1.AgentEvent[]): Promise<void> {
    const moved: AgentCredentialRecord[] = [];
    for (const e of events) {
      const prev = e.previousInstanceUid?.length === 16 ? Buffer.from(e.previousInstanceUid) : null;
      if (!prev) continue;
      moved.push(...(await this.repo.db.transaction((tx) => this.credentials.moveAgent(tx, tenantId, prev, Buffer.from(e.instanceUid)))));
    }
    // The same digests, now naming the new uid.
    await putAll(this.directory, moved.map(directoryEntry));
  }

  private async enrollAll(tenantId: string, agents: readonly BatchEvent[]): Promise<Map<string, EnrollmentOutcome>> {
    return this.repo.db.transaction(async (tx) => {
      const outcomes = await this.credentials.enrollMany(tx, tenantId, agents.map((a) => ({ uid: a.uid, tokenId: a.credentialId })));
      const audits = agents.flatMap((a) => {
        const o = outcomes.get(a.key);
        if (!o || o === 'known') return [];
        const action = o === 'exhausted' ? 'agent.enrollment_refused' : o === 're_enrolled' ? 'agent.re_enroll' : 'agent.enroll';
        return [{ tenantId, actor: 'system', action, resourceType: 'agent', resourceName: a.key, details: { enrollmentTokenId: a.credentialId } }];
      });
      await this.repo.auditMany(tx, audits);
      return outcomes;
    });
  }

  /** New credentials on offer for these agents; gateways accept them before any offer leaves. */
  private async issueAll(tenantId: string, agents: readonly BatchEvent[]): Promise<AgentCredentialRecord[]> {
    if (agents.length === 0) return [];
    const made = await this.repo.db.transaction(async (tx) => {
      const created = await this.credentials.createOfferedMany(tx, tenantId, agents.map((a) => ({ uid: a.uid, enrollmentTokenId: a.credentialId })));
      await this.repo.auditMany(
        tx,
        created.map((c) => ({ tenantId, actor: 'system', action: 'agent_credential.issue', resourceType: 'agent', resourceName: c.instanceUid.toString('hex'), details: { credentialId: c.id } })),
      );
      return created;
    });
    this.metrics.credentialsIssued += made.length;
    await putAll(this.directory, made.map(directoryEntry));
    return made;
  }

  /** Activations of a batch; the directory marks them active and drops what they superseded. */
  private async activateAll(tenantId: string, agents: ReadonlyArray<{ uid: Buffer; id: string }>): Promise<Map<string, AgentCredentialRecord>> {
    const done = await this.repo.db.transaction(async (tx) => {
      const r = await this.credentials.activateMany(tx, tenantId, agents);
      await this.repo.auditMany(
        tx,
        [...r.values()].map(({ active, superseded }) => ({
          tenantId,
          actor: 'system',
          action: 'agent_credential.activate',
          resourceType: 'agent',
          resourceName: active.instanceUid.toString('hex'),
          details: { credentialId: active.id, superseded: superseded.map((c) => c.id) },
        })),
      );
      return r;
    });
    this.metrics.activations += done.size;
    const results = [...done.values()];
    await putAll(this.directory, results.map((d) => directoryEntry(d.active)));
    await removeAll(this.directory, results.flatMap((d) => d.superseded.map((old) => directoryEntry(old).digest)));
    return new Map([...done].map(([key, d]) => [key, d.active]));
  }

  /**
   * Decides every offer of the batch (offerFor), pushes those to send at most
   * pushConcurrency at a time, and records what went out in one UPDATE. A push
   * that failed fails the batch (it is worked again) after the others are recorded.
   */
  private async offerAll(tenantId: string, given: readonly OfferItem[], profiles: readonly ConnectionProfile[], toServer: boolean): Promise<void> {
    const items = await this.recordFailures(tenantId, given);
    const certificates = (await this.options.certificatesOf?.(tenantId, items.map((i) => Buffer.from(i.event.instanceUid)))) ?? new Map<string, opamp.proto.v1.ITLSCertificate>();
    const certificateOf = (e: fleet.v1.AgentEvent) => certificates.get(Buffer.from(e.instanceUid).toString('hex')) ?? null;
    const decided = items.map((item) => ({ item, o: this.offerFor(item.event, item.credential, profiles, certificateOf(item.event), toServer) }));
    const sends = decided.flatMap(({ item, o }) => (o && o.reason !== 'retry_after_failure' ? [{ item, ...o }] : []));
    // A failed offer's retry: a fresh credential (a hash the agent has not failed), offered in its place.
    const retries = decided.flatMap(({ item, o }) => (o?.reason === 'retry_after_failure' ? [item] : []));
    for (const fresh of await this.reissueAll(tenantId, retries)) {
      const o = this.offerFor(fresh.event, fresh.credential, profiles, certificateOf(fresh.event), toServer);
      if (o) sends.push({ item: fresh, ...o });
    }
    const sent: Array<{ id: string; connection: string; hash: Buffer }> = [];
    const errors = await this.pushBounded(
      sends.map((s) => async () => {
        await this.dispatcher.push(tenantId, Buffer.from(s.item.event.instanceUid), s.target, 'connection_settings', s.message);
        sent.push({ id: s.item.credential.id, connection: s.connection, hash: s.hash });
      }),
    );
    await this.credentials.markOfferedMany(tenantId, sent);
    this.metrics.offersSent += sent.length;
    if (errors.length > 0) throw errors[0];
  }

  /**
   * Agents that report FAILED for the offer last sent carrying their
   * credential: the failure is recorded (once per offer, with the agent's
   * message) and, for a credential on offer, its retry made due after its
   * back-off (none after the last).
   * Returns the items with their credentials as recorded.
   */
  private async recordFailures(tenantId: string, items: readonly OfferItem[]): Promise<OfferItem[]> {
    const FAILED = opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED;
    const failing = items.filter(
      ({ event: e, credential: c }) =>
        e.connectionSettingsStatus === FAILED && c.offeredHash !== null && e.connectionSettingsHash?.length && c.offeredHash.equals(Buffer.from(e.connectionSettingsHash)),
    );
    if (failing.length === 0) return [...items];
    const recorded = new Map((await this.credentials.recordOfferFailures(tenantId, failing.map((f) => f.credential.id))).map((c) => [c.id, c]));
    if (recorded.size === 0) return [...items];
    this.metrics.offersFailed += recorded.size;
    await this.credentials.scheduleOffers(
      tenantId,
      // Only a credential on offer is retried (with a fresh one): see decideCredentialOffer.
      [...recorded.values()].map((c) => ({ id: c.id, atMs: c.state === 'offered' ? offerRetryAt(c.offerFailures, Date.parse(c.offerFailedAt ?? ''), this.retry) : null })),
    );
    return items.map((item) => ({ ...item, credential: recorded.get(item.credential.id) ?? item.credential }));
  }

  /** Replaces these offered credentials by fresh ones; gateways drop the old and accept the new before any offer leaves. */
  private async reissueAll(tenantId: string, items: readonly OfferItem[]): Promise<OfferItem[]> {
    if (items.length === 0) return [];
    const done = await this.repo.db.transaction(async (tx) => {
      const r = await this.credentials.reissueOffered(tx, tenantId, items.map((i) => i.credential.id));
      await this.repo.auditMany(
        tx,
        r.created.map((c) => ({ tenantId, actor: 'system', action: 'agent_credential.reissue', resourceType: 'agent', resourceName: c.instanceUid.toString('hex'), details: { credentialId: c.id, failures: c.offerFailures } })),
      );
      return r;
    });
    this.metrics.offersRetried += done.created.length;
    await removeAll(this.directory, done.replaced.map((c) => directoryEntry(c).digest));
    await putAll(this.directory, done.created.map(directoryEntry));
    const byUid = new Map(items.map((i) => [Buffer.from(i.event.instanceUid).toString('hex'), i]));
    return done.created.flatMap((c) => {
      const i = byUid.get(c.instanceUid.toString('hex'));
      return i ? [{ event: i.event, credential: c }] : [];
    });
  }

  /** Runs the tasks at most pushConcurrency at a time; returns what they threw. */
  private async pushBounded(tasks: ReadonlyArray<() => Promise<void>>): Promise<unknown[]> {
    const errors: unknown[] = [];
    const limit = Math.max(1, this.options.pushConcurrency ?? 100);
    for (let i = 0; i < tasks.length; i += limit) {
      const settled = await Promise.allSettled(tasks.slice(i, i + limit).map((t) => t()));
      for (const r of settled) if (r.status === 'rejected') errors.push(r.reason);
    }
    return errors;
  }

  /**
   * The connection settings offer for one agent carrying `credential` (and its
   * profile's settings), or null when none is to be sent now. Everything an
   * offer holds is put together here.
   */
  private offerFor(
    e: fleet.v1.AgentEvent,
    credential: AgentCredentialRecord,
    profiles: readonly ConnectionProfile[],
    certificate: opamp.proto.v1.ITLSCertificate | null,
    ownTelemetryToServer: boolean,
  ): { target: PushTarget; connection: string; hash: Buffer; message: ReturnType<typeof connectionSettingsMessage>; reason: CredentialOfferReason } | null {
    const endpoint = this.endpoint();
    if (!endpoint || !this.credentials.issuing) return null;
    const target = targetOf(e);
    const capabilities = Number(e.capabilities ?? 0);
    const profile = resolveAssignment(profiles, eventLabels(e));
    const offers = connectionOffer(
      {
        publicEndpoint: endpoint,
        transport: target.transport === fleet.v1.Transport.TRANSPORT_HTTP ? 'http' : 'ws',
        secret: this.credentials.secretOf(credential),
        heartbeatIntervalSeconds: this.options.heartbeatIntervalSeconds ?? DEFAULT_OFFER_HEARTBEAT_S,
        certificate,
        ownTelemetryEndpoint: ownTelemetryToServer ? ownTelemetryOrigin(endpoint) : null,
      },
      profile?.spec ?? null,
      capabilities,
    );
    if (!offers) return null;
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
        offerFailures: credential.offerFailures,
        offerFailedAtMs: credential.offerFailedAt ? Date.parse(credential.offerFailedAt) : null,
        desiredOnOffer: credential.state === 'offered',
      },
      connection,
      this.now(),
      undefined,
      this.retry,
    );
    if (!decision.send) return null;
    return { target, connection, hash, message: connectionSettingsMessage(e.instanceUid, offers), reason: decision.reason };
  }
}

/** An agent of a batch with its event. */
interface BatchEvent extends BatchAgent {
  readonly event: fleet.v1.AgentEvent;
  readonly uid: Buffer;
}

interface OfferItem {
  readonly event: fleet.v1.AgentEvent;
  readonly credential: AgentCredentialRecord;
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
