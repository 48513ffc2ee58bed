/**
 * Owns the run of a simulated agent's connection settings offers (profile
 * followConnectionSettings): when an offer is taken, when its APPLYING report
 * is out so the agent may disconnect, whether the connection made with the
 * candidate succeeded or was refused, and what is reported and emitted. The
 * settings themselves and the offer decisions are connection-settings.ts's;
 * the agent owns the sockets and does the disconnect / reconnect it is told.
 */
import { AgentCapabilities, hasCapability, opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import { aliasedUrl, ConnectionSettingsFollower, type OpampSettings } from './connection-settings';
import { StatusPart, type ConnectionSettingsReport } from './status-builder';

/** What the runner needs of its agent (the agent implements it; no closures per agent). */
export interface ConnectionSettingsHost {
  readonly instanceUid: Buffer;
  readonly heartbeatIntervalMs: number;
  /** The key an offered certificate without one goes with ('' when the agent made none). */
  readonly clientKeyPem: string;
  /** @internal queue these status parts for sending */
  markDirty(parts: number): void;
  /** @internal flush soon, even with nothing dirty (a pending switch) */
  scheduleFlush(): void;
  /** @internal the interval of settings in force */
  setHeartbeat(ms: number): void;
  emit(event: 'connectionSettings', state: ConnectionSettingsReport): boolean;
}

export class ConnectionSettingsRunner {
  private readonly follower: ConnectionSettingsFollower;
  private readonly reports: boolean;
  /** The APPLYING report of the pending candidate reached the server (WS: was sent). */
  private announced = false;
  /** Why the last connection attempt with the candidate failed ('' while none did). */
  private trialError = '';
  /** HTTP: the request in flight carries the APPLYING report / uses the candidate. */
  private requestAnnounces = false;
  private requestOnTrial = false;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly host: ConnectionSettingsHost,
  ) {
    this.follower = new ConnectionSettingsFollower({ url: profile.url, headers: profile.headers, heartbeatMs: host.heartbeatIntervalMs });
    this.reports = hasCapability(profile.capabilities, AgentCapabilities.ReportsConnectionSettingsStatus);
  }

  /** What connections use now. */
  get inUse(): OpampSettings {
    return this.follower.inUse;
  }

  /** What messages report (APPLIED on a connection made with the candidate). */
  get status(): ConnectionSettingsReport | undefined {
    return this.follower.status;
  }

  /** How the last offer stands. */
  get outcome(): ConnectionSettingsReport | undefined {
    return this.follower.outcome;
  }

  offer(offer: opamp.proto.v1.IOpAMPConnectionSettings, hash: Uint8Array): void {
    // Client-certificate mode: until its certificate came, an offer without one (e.g. a credential
    // pointing at a mutual-TLS terminator) would only be refused; the server offers again with it.
    if (this.profile.requestClientCertificate && !this.follower.inUse.clientCertificate && !(offer.certificate?.cert && offer.certificate.cert.length > 0)) return;
    const aliases = this.profile.endpointAliases;
    const decision = this.follower.offer(offer, hash, this.profile.transport, aliases ? (url) => aliasedUrl(url, aliases, this.host.instanceUid) : undefined, this.host.clientKeyPem);
    switch (decision.kind) {
      case 'applied_before':
      case 'busy':
        return;
      case 'failed_before':
        // Not tried again; FAILED goes out again (no new event: nothing changed).
        if (this.reports) this.host.markDirty(StatusPart.ConnectionSettingsStatus);
        return;
      case 'in_place':
        this.host.setHeartbeat(decision.settings.heartbeatMs);
        break;
      case 'switch':
        this.announced = false;
        // The flush after this message reports APPLYING, then the agent switches (takeSwitch).
        this.host.scheduleFlush();
        break;
      default:
        // invalid: FAILED at once.
        break;
    }
    this.report();
  }

  /** A message went out (WS: sent means announced). */
  sentWs(parts: number): void {
    if (parts & StatusPart.ConnectionSettingsStatus && this.follower.switchDue) this.announced = true;
  }

  /** HTTP: a request with these parts goes out. */
  sentHttp(parts: number): void {
    this.requestAnnounces = (parts & StatusPart.ConnectionSettingsStatus) !== 0 && this.follower.switchDue;
    this.requestOnTrial = this.follower.trying;
  }

  /**
   * HTTP: the request ended; `failure` is why it was refused (undefined: a
   * response came). True when the candidate was refused and rolled back.
   */
  httpDone(failure: string | undefined): boolean {
    const announced = this.requestAnnounces;
    const onTrial = this.requestOnTrial;
    this.requestAnnounces = this.requestOnTrial = false;
    if (failure !== undefined) return onTrial && this.failed(failure);
    if (onTrial && this.follower.trying) this.connected();
    if (announced) this.announced = true;
    return false;
  }

  /**
   * True (once) when the agent should now disconnect and connect with the
   * candidate: the APPLYING report is out (at once without ReportsConnectionSettingsStatus).
   */
  takeSwitch(): boolean {
    if (!this.follower.switchDue || (this.reports && !this.announced)) return false;
    this.announced = false;
    this.trialError = '';
    this.follower.beginTrial();
    return true;
  }

  /** WS: a connection attempt starts. */
  connecting(): void {
    this.trialError = '';
  }

  /** WS: why the attempt failed (refused upgrade, socket error, handshake timeout). */
  attemptFailed(reason: string): void {
    this.trialError = reason;
  }

  /** WS: the attempt's socket closed; true when it was the candidate's and refused (rolled back). */
  closed(): boolean {
    return this.follower.trying && this.trialError !== '' && this.failed(this.trialError);
  }

  /** A connection was made: the candidate on trial is in force (APPLIED). */
  connected(): void {
    const settings = this.follower.trialSucceeded();
    if (!settings) return;
    this.host.setHeartbeat(settings.heartbeatMs);
    this.report();
  }

  private failed(reason: string): boolean {
    if (!this.follower.trialFailed(reason)) return false;
    this.report();
    return true;
  }

  private report(): void {
    if (this.reports) this.host.markDirty(StatusPart.ConnectionSettingsStatus);
    const status = this.follower.outcome;
    if (status) this.host.emit('connectionSettings', status);
  }
}
