/**
 * Owns a simulated agent's OpAMP connection settings when it follows the
 * server's offers (AcceptsOpAMPConnectionSettings), the way the OpAMP
 * supervisor does: an offer makes a candidate of the settings in force (what
 * the offer leaves empty stays); the agent reports APPLYING, disconnects and
 * tries the candidate; the first connection made with it makes it the settings
 * in force (APPLIED, reported on that connection), a refused one rolls back to
 * the previous settings (FAILED, reported over them). An offer whose hash was
 * applied or failed before is skipped; one that changes only the heartbeat is
 * applied without a reconnect.
 *
 * Pure state, no I/O: the agent owns sockets, timers and sending.
 */
import { opamp } from '@opamp/protocol';
import type { TransportKind } from './agent-options';
import { sameBytes } from './config-apply';
import type { ConnectionSettingsReport as ConnectionSettingsState } from './status-builder';

const Statuses = opamp.proto.v1.ConnectionSettingsStatuses;

/** Where and how the agent connects. */
export interface OpampSettings {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly heartbeatMs: number;
  /** The offer these settings came from; undefined for the start-up settings. */
  readonly hash?: Uint8Array;
  /** The client certificate (PEM) connections present over TLS, with its key (offered, or the agent's own). */
  readonly clientCertificate?: ClientCertificate;
}

export interface ClientCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}


export type ConnectionOfferDecision =
  /** The hash is the one in force, or the candidate being tried: nothing to do. */
  | { readonly kind: 'applied_before' }
  /** Another candidate is being tried: this offer waits for the server to send it again. */
  | { readonly kind: 'busy' }
  /** The hash failed before: not tried again (reported FAILED again). */
  | { readonly kind: 'failed_before' }
  /** The offer cannot be used (e.g. its endpoint is not a URL): FAILED at once. */
  | { readonly kind: 'invalid'; readonly error: string }
  /** Same endpoint and headers: the new heartbeat applies without a reconnect. */
  | { readonly kind: 'in_place'; readonly settings: OpampSettings }
  /** Disconnect and try `candidate`. */
  | { readonly kind: 'switch'; readonly candidate: OpampSettings };

/** The candidate an offer makes of `current` (the endpoint in the agent's transport's scheme). */
export function settingsWithOffer(
  current: OpampSettings,
  offer: opamp.proto.v1.IOpAMPConnectionSettings,
  hash: Uint8Array,
  transport: TransportKind,
  resolve?: EndpointResolver,
  clientKeyPem = '',
): OpampSettings | { error: string } {
  let url = current.url;
  if (offer.destinationEndpoint) {
    try {
      url = transportUrl(new URL(offer.destinationEndpoint), transport);
    } catch {
      return { error: 'the offered destination_endpoint is not a ws(s) or http(s) URL' };
    }
    if (resolve) url = resolve(url);
    url = shared(url);
  }
  let headers = current.headers;
  const offered = offer.headers?.headers ?? [];
  if (offered.length > 0) {
    const next: Record<string, string> = {};
    for (const h of offered) if (h.key) next[h.key] = h.value ?? '';
    headers = Object.freeze(next);
  }
  const seconds = Number(offer.heartbeatIntervalSeconds ?? 0);
  const heartbeatMs = seconds > 0 ? seconds * 1000 : current.heartbeatMs;
  let clientCertificate = current.clientCertificate;
  const cert = offer.certificate;
  if (cert?.cert && cert.cert.length > 0) {
    // No private key in the offer: the certificate was signed from the agent's CSR, for the key it kept.
    const keyPem = cert.privateKey && cert.privateKey.length > 0 ? Buffer.from(cert.privateKey).toString('utf8') : clientKeyPem;
    if (!keyPem) return { error: 'the offered certificate comes without a private key and this agent holds none' };
    clientCertificate = { certPem: Buffer.from(cert.cert).toString('utf8'), keyPem };
  }
  return { url, headers, heartbeatMs, hash: Buffer.from(hash), ...(clientCertificate ? { clientCertificate } : {}) };
}

/**
 * One URL object per endpoint text for all agents of a process (a swarm's
 * agents share a few gateways' addresses); bounded, past that each agent keeps its own.
 */
const sharedUrls = new Map<string, URL>();
const SHARED_URLS_MAX = 1_000;

function shared(url: URL): URL {
  const known = sharedUrls.get(url.href);
  if (known) return known;
  if (sharedUrls.size < SHARED_URLS_MAX) sharedUrls.set(url.href, url);
  return url;
}

/** Maps an offered endpoint onto the address the agent really connects to. */
export type EndpointResolver = (url: URL) => URL;

/**
 * Endpoint aliases: an offered host[:port] that names a load-balanced address
 * is replaced by one of `aliases[host]`, picked by the agent's instance uid,
 * the way DNS round robin spreads agents behind one name.
 */
export function aliasedUrl(url: URL, aliases: Readonly<Record<string, readonly string[]>>, instanceUid: Uint8Array): URL {
  const targets = aliases[url.host];
  if (!targets || targets.length === 0) return url;
  const n = instanceUid.length >= 4 ? Buffer.from(instanceUid).readUInt32BE(instanceUid.length - 4) : 0;
  const out = new URL(url.href);
  out.host = targets[n % targets.length];
  return out;
}

function transportUrl(url: URL, transport: TransportKind): URL {
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!secure && url.protocol !== 'ws:' && url.protocol !== 'http:') throw new TypeError(`unsupported scheme ${url.protocol}`);
  url.protocol = transport === 'ws' ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:';
  return url;
}

export function sameConnection(a: OpampSettings, b: OpampSettings): boolean {
  if (a.url.href !== b.url.href || a.clientCertificate?.certPem !== b.clientCertificate?.certPem) return false;
  const ak = Object.keys(a.headers);
  const bk = Object.keys(b.headers);
  return ak.length === bk.length && ak.every((k) => b.headers[k] === a.headers[k]);
}

/**
 * The settings of one agent that follows offers. Created on its first offer,
 * so agents that never get one cost nothing.
 */
export class ConnectionSettingsFollower {
  /** The settings in force (the last that worked). */
  current: OpampSettings;
  /** The candidate waiting for the APPLYING report to go out. */
  private pending: OpampSettings | undefined;
  /** The candidate being tried (connections use it while set). */
  private trial: OpampSettings | undefined;
  private failedHash: Uint8Array | undefined;
  private failedReason = '';
  private reported: ConnectionSettingsState | undefined;

  constructor(initial: OpampSettings) {
    this.current = initial;
  }

  /** What connections use now: the candidate on trial, else the settings in force. */
  get inUse(): OpampSettings {
    return this.trial ?? this.current;
  }

  /** A candidate is pending or being tried. */
  get switching(): boolean {
    return this.pending !== undefined || this.trial !== undefined;
  }

  /** A candidate waits for its APPLYING report to go out before the agent disconnects. */
  get switchDue(): boolean {
    return this.pending !== undefined;
  }

  get trying(): boolean {
    return this.trial !== undefined;
  }

  /** How the last offer stands: APPLYING until its connection was made (or refused). */
  get outcome(): ConnectionSettingsState | undefined {
    return this.reported;
  }

  /** connection_settings_status to report: a connection made with the candidate reports it APPLIED. */
  get status(): ConnectionSettingsState | undefined {
    if (this.trial) return { hash: this.trial.hash, status: Statuses.ConnectionSettingsStatuses_APPLIED };
    return this.reported;
  }

  offer(offer: opamp.proto.v1.IOpAMPConnectionSettings, hash: Uint8Array, transport: TransportKind, resolve?: EndpointResolver, clientKeyPem?: string): ConnectionOfferDecision {
    const known = this.pending ?? this.trial ?? this.current;
    if (known.hash && sameBytes(known.hash, hash)) return { kind: 'applied_before' };
    if (this.failedHash && sameBytes(this.failedHash, hash)) return { kind: 'failed_before' };
    if (this.trial) return { kind: 'busy' };
    const candidate = settingsWithOffer(this.current, offer, hash, transport, resolve, clientKeyPem);
    if ('error' in candidate) {
      this.fail(hash, candidate.error);
      return { kind: 'invalid', error: candidate.error };
    }
    if (sameConnection(candidate, this.current)) {
      this.pending = undefined;
      this.current = candidate;
      this.reported = { hash: candidate.hash, status: Statuses.ConnectionSettingsStatuses_APPLIED };
      return { kind: 'in_place', settings: candidate };
    }
    this.pending = candidate;
    this.reported = { hash: candidate.hash, status: Statuses.ConnectionSettingsStatuses_APPLYING };
    return { kind: 'switch', candidate };
  }

  /** The APPLYING report went out: connections use the candidate from now on. */
  beginTrial(): OpampSettings | undefined {
    this.trial = this.pending;
    this.pending = undefined;
    return this.trial;
  }

  /** A connection with the candidate was made: it is in force. */
  trialSucceeded(): OpampSettings | undefined {
    const t = this.trial;
    if (!t) return undefined;
    this.trial = undefined;
    this.current = t;
    this.failedHash = undefined;
    this.failedReason = '';
    this.reported = { hash: t.hash, status: Statuses.ConnectionSettingsStatuses_APPLIED };
    return t;
  }

  /** The candidate was refused: back to the settings in force, FAILED. */
  trialFailed(reason: string): OpampSettings | undefined {
    const t = this.trial;
    if (!t) return undefined;
    this.trial = undefined;
    if (t.hash) this.fail(t.hash, reason);
    return t;
  }

  get lastFailure(): string {
    return this.failedReason;
  }

  private fail(hash: Uint8Array, reason: string): void {
    this.failedHash = Buffer.from(hash);
    this.failedReason = reason;
    this.reported = { hash: this.failedHash, status: Statuses.ConnectionSettingsStatuses_FAILED, errorMessage: reason };
  }
}
