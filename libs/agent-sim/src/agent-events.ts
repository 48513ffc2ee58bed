/**
 * Owns what a SimulatedAgent tells its users: the events it emits and the
 * kinds of problems it counts.
 */
import type { opamp } from '@opamp/protocol';
import type { ConnectionSettingsReport, RemoteConfigState } from './status-builder';

type ServerToAgent = opamp.proto.v1.ServerToAgent;

/** Kinds of problems an agent counts in `errorsByKind` and reports with the 'error' event. */
export type AgentErrorKind =
  /** HTTP status other than 200 (plain HTTP) or other than 101 (WS upgrade). */
  | 'http_status'
  /** error_response BAD_REQUEST: the message is not resent. */
  | 'bad_request'
  /** error_response UNAVAILABLE: retried after retry_info (or backoff). */
  | 'unavailable'
  /** error_response UNKNOWN (or an unknown type): not retried. */
  | 'server_error'
  /** A ServerToAgent (or its framing / gzip) could not be decoded. */
  | 'decode'
  /** Client-certificate mode: the key or CSR could not be made. */
  | 'certificate'
  /** Connection refused / reset / timed out, WS closed unexpectedly. */
  | 'transport'
  /** ServerToAgent.instance_uid differs from the agent's: message ignored. */
  | 'uid_mismatch'
  /** agent_identification.new_instance_uid not 16 bytes: ignored. */
  | 'invalid_new_uid';

export interface AgentError {
  readonly kind: AgentErrorKind;
  readonly message: string;
  /** HTTP status, for 'http_status'. */
  readonly status?: number;
  /** Delay before the next attempt, when the failure schedules one. */
  readonly retryAfterMs?: number;
}

export interface RemoteConfigEvent {
  readonly hash: Buffer;
  readonly config: opamp.proto.v1.IAgentConfigMap;
}

export interface CustomMessageEvent {
  readonly capability: string;
  readonly type: string;
  readonly data: Uint8Array;
}

/** A package of an offer: its download started, or it was installed, or it failed (package-install.runner.ts). */
export interface PackageInstallEvent {
  readonly name: string;
  readonly version: string;
  readonly status: 'downloading' | 'installed' | 'install_failed';
  readonly error?: string;
  /** Downloading, with progress: what download_details reports. */
  readonly downloadPercent?: number;
  readonly downloadBytesPerSecond?: number;
  /** Installed: the file's size, the Range requests that continued its download, and the 503 answers it waited out. */
  readonly bytes?: number;
  readonly resumes?: number;
  readonly busyWaits?: number;
}

/** Events of a SimulatedAgent (listener argument tuples). */
export interface SimulatedAgentEvents {
  /** Every accepted ServerToAgent (uid matched), before it is acted on. */
  serverMessage: [message: ServerToAgent];
  /** A remote config with a new hash is being applied. */
  remoteConfig: [event: RemoteConfigEvent];
  /** A remote config apply finished: status APPLIED or FAILED. */
  applied: [state: RemoteConfigState];
  /** A restart command was accepted; the simulated process restarts. */
  restart: [];
  connected: [];
  disconnected: [info: { code?: number; reason?: string }];
  /** Emitted only when someone listens (an EventEmitter 'error' without listeners would throw). */
  error: [error: AgentError];
  /** A custom_message for a declared custom capability. */
  customMessage: [message: CustomMessageEvent];
  /** The server assigned a new instance uid (the old one is the argument's predecessor). */
  instanceUid: [uid: Buffer];
  /** A connection settings offer was taken (APPLYING), made a connection (APPLIED) or was refused and rolled back (FAILED). */
  connectionSettings: [state: ConnectionSettingsReport];
  /** A package download started, or the package was installed or failed (AcceptsPackages). */
  packages: [event: PackageInstallEvent];
}
