/**
 * Owns where and how a simulated agent connects: the profile's endpoint,
 * headers and TLS until a connection settings offer was applied, the offered
 * ones after (connection-settings.runner.ts runs the offers), and, in
 * client-certificate mode, the agent's key and CSR
 * (client-certificate.runner.ts). The WS side (ws-connection.runner.ts) and
 * the HTTP side (http-exchange.runner.ts) take each attempt's target from it
 * and tell it how attempts went; the agent owns the sockets and does the
 * disconnect / reconnect it is told.
 */
import { AgentCapabilities, hasCapability, type opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import type { AgentErrorKind } from './agent-events';
import { ClientCertificateRunner } from './client-certificate.runner';
import type { OpampSettings } from './connection-settings';
import { ConnectionSettingsRunner, type ConnectionSettingsHost } from './connection-settings.runner';
import type { ConnectionSettingsReport } from './status-builder';

const EMPTY_BYTES = new Uint8Array(0);

/** What a connection attempt uses. */
export type TargetSettings = Pick<OpampSettings, 'url' | 'headers' | 'clientCertificate'>;

/** What the target needs of its agent (the agent implements it; no closures per agent). */
export interface ConnectionTargetHost extends ConnectionSettingsHost {
  /** @internal send this CSR (PEM) with the next message */
  requestCertificate(csr: Uint8Array): void;
  /** @internal */
  countError(kind: AgentErrorKind, message: string): void;
}

export class ConnectionTarget {
  /** Connection settings offers (followConnectionSettings): created with the first offer. */
  private settings: ConnectionSettingsRunner | undefined;
  /** Client-certificate mode (requestClientCertificate): the agent's key and CSR. */
  private readonly certificates: ClientCertificateRunner | undefined;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly host: ConnectionTargetHost,
  ) {
    this.certificates = profile.requestClientCertificate ? new ClientCertificateRunner() : undefined;
  }

  /** Where and how connections go now: the offered settings in use, else the profile's. */
  get current(): TargetSettings {
    return this.settings?.inUse ?? this.profile;
  }

  /** What messages report in connection_settings_status (undefined before the first offer). */
  get status(): ConnectionSettingsReport | undefined {
    return this.settings?.status;
  }

  /** How the last offer stands. */
  get outcome(): ConnectionSettingsReport | undefined {
    return this.settings?.outcome;
  }

  /** The key of its client certificates ('' without one). */
  get clientKeyPem(): string {
    return this.certificates?.keyPem ?? '';
  }

  /** Client-certificate mode: the key and CSR are made (once); the CSR rides with the next message (the first connection's, mostly). */
  start(): void {
    const certificates = this.certificates;
    if (!certificates || certificates.keyPem) return;
    certificates.certificateRequest(this.host.instanceUid.toString('hex')).then(
      (csr) => this.host.requestCertificate(csr),
      (err: Error) => this.host.countError('certificate', `cannot make a certificate request: ${err.message}`),
    );
  }

  /** A ServerToAgent's connection_settings: an OpAMP offer is followed when the agent does; else only its heartbeat counts. */
  offer(offers: opamp.proto.v1.IConnectionSettingsOffers | null | undefined): void {
    const offered = offers?.opamp;
    const caps = this.profile.capabilities;
    if (offered && this.profile.followConnectionSettings && hasCapability(caps, AgentCapabilities.AcceptsOpAMPConnectionSettings)) {
      (this.settings ??= new ConnectionSettingsRunner(this.profile, this.host)).offer(offered, offers?.hash ?? EMPTY_BYTES);
      return;
    }
    const heartbeat = offered?.heartbeatIntervalSeconds;
    if (heartbeat && heartbeat > 0 && hasCapability(caps, AgentCapabilities.ReportsHeartbeat)) this.host.setHeartbeat(heartbeat * 1000);
  }

  /** True (once) when the agent should now disconnect and connect with the pending candidate. */
  takeSwitch(): boolean {
    return this.settings?.takeSwitch() ?? false;
  }

  // What the WS side tells it.

  connecting(): void {
    this.settings?.connecting();
  }

  connected(): void {
    this.settings?.connected();
  }

  attemptFailed(reason: string): void {
    this.settings?.attemptFailed(reason);
  }

  /** The socket closed; true when the candidate was refused and rolled back. */
  closed(): boolean {
    return this.settings?.closed() ?? false;
  }

  sentWs(parts: number): void {
    this.settings?.sentWs(parts);
  }

  // What the HTTP side tells it.

  sentHttp(parts: number): void {
    this.settings?.sentHttp(parts);
  }

  /** The request ended (`failure`: why it was refused); true when the candidate was refused and rolled back. */
  httpDone(failure: string | undefined): boolean {
    return this.settings?.httpDone(failure) ?? false;
  }
}
