/**
 * Owns the options of a simulated agent and their defaults.
 *
 * Options come in two layers so that a swarm of 100,000 agents does not carry
 * 100,000 copies of the same settings:
 *  - an AgentProfile: everything agents of one kind share (endpoint,
 *    capabilities, intervals, policies, ...). It is resolved once (defaults
 *    filled in, URL parsed) and the resolved object is cached per profile
 *    object, so every agent built from the same profile points at one object;
 *  - per-agent options: identity, description, health, source address.
 *
 * For a single agent both layers can be written in one object; for a swarm
 * pass `{ profile, instanceUid, description, localAddress }`.
 */
import type { Agent as HttpAgent } from 'node:http';
import { AgentCapabilities, INSTANCE_UID_BYTES, opamp } from '@opamp/protocol';
import type { BackoffSettings, Rng } from './backoff';
import type { ApplyConfigPolicy } from './config-apply';
import { componentsHash, type AgentDescriptionInput, type ComponentsInput, type HealthInput } from './status-builder';
import type { OwnMetricNaming } from './collector-own-metrics';
import { DEFAULT_OWN_METRICS_INTERVAL_MS, type OwnMetricsSettings } from './own-metrics.runner';
import type { PerMessageDeflateOptions } from 'ws';

export type TransportKind = 'ws' | 'http';

/** The capabilities of an OpenTelemetry Collector with the opamp extension (plus restart). */
export const DEFAULT_AGENT_CAPABILITIES =
  AgentCapabilities.ReportsStatus |
  AgentCapabilities.AcceptsRemoteConfig |
  AgentCapabilities.ReportsEffectiveConfig |
  AgentCapabilities.ReportsHealth |
  AgentCapabilities.ReportsRemoteConfig |
  AgentCapabilities.ReportsHeartbeat |
  AgentCapabilities.AcceptsRestartCommand;

/** Settings shared by every agent of one kind. */
export interface AgentProfile {
  /** ws://, wss://, http:// or https:// URL of the OpAMP endpoint. */
  readonly endpoint: string;
  /** Transport; inferred from the endpoint's scheme when omitted. */
  readonly transport?: TransportKind;
  /** Extra request headers (e.g. Authorization), on the WS upgrade and on every HTTP POST. */
  readonly headers?: Readonly<Record<string, string>>;
  /** AgentCapabilities bitmask (default DEFAULT_AGENT_CAPABILITIES). */
  readonly capabilities?: number;
  /** Heartbeat (WS) and poll (HTTP) interval; default 30 s. */
  readonly heartbeatIntervalMs?: number;
  /** Effective config before any remote config was applied. */
  readonly initialEffectiveConfig?: opamp.proto.v1.IAgentConfigMap;
  /** How remote configs are applied (default: at once, never fails). */
  readonly applyConfig?: ApplyConfigPolicy;
  /** Full-jitter exponential backoff after transport failures (default 1 s .. 60 s). */
  readonly reconnect?: BackoffSettings;
  /** Lower bound for server-requested retry delays (Retry-After, retry_info); default 0. */
  readonly minRetryMs?: number;
  /** Like opamp-go: after a WS reconnect send only uid+seq+caps (plus changes), not the full state. */
  readonly firstMessageCompressedOnReconnect?: boolean;
  /** Custom capabilities the agent declares (reverse FQDN[/version]). */
  readonly customCapabilities?: readonly string[];
  /** Available components (sent as hash first; in full on ReportAvailableComponents). */
  readonly availableComponents?: ComponentsInput;
  /**
   * Offer permessage-deflate on WS (default on, offered like opamp-go: no
   * context takeover either way, so no zlib state stays allocated per idle connection).
   */
  readonly perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** HTTP: gzip request bodies (Content-Encoding: gzip); default off. */
  readonly gzipRequests?: boolean;
  /** HTTP: send Accept-Encoding: gzip and inflate gzip responses; default on. */
  readonly acceptGzip?: boolean;
  /** HTTP: send the OpAMP-Instance-UID header; default on. */
  readonly sendInstanceUidHeader?: boolean;
  /** HTTP request / WS handshake timeout; default 10 s. */
  readonly requestTimeoutMs?: number;
  /** How long stop() waits for the graceful close; default 2 s. */
  readonly stopTimeoutMs?: number;
  /** How many received ServerToAgent messages `received` keeps (oldest dropped); 0 keeps none. Default 1000. */
  readonly receivedLimit?: number;
  /** Random source (backoff jitter, simulated failures); default Math.random. */
  readonly rng?: Rng;
  /** HTTP: connection pool; default one keep-alive pool shared by all agents. */
  readonly httpAgent?: HttpAgent;
  /**
   * With AcceptsOpAMPConnectionSettings: follow the server's connection
   * settings offers like the OpAMP supervisor (reconnect with the offered
   * endpoint and headers, roll back when refused; connection-settings.ts).
   * Default off: only an offered heartbeat interval is taken.
   */
  readonly followConnectionSettings?: boolean;
  /**
   * Offered endpoints that name a load-balanced address: host[:port] → the
   * host:port list agents really connect to, one picked per agent by its
   * instance uid (DNS round robin; a benchmark's gateways behind one public URL).
   */
  readonly endpointAliases?: Readonly<Record<string, readonly string[]>>;
  /**
   * Client-certificate mode (issue 18): the agent makes an ECDSA P-256 key and
   * sends a CSR for its uid in connection_settings_request on its first
   * connection; with followConnectionSettings it reconnects presenting the
   * offered certificate (e.g. to a mutual-TLS terminator), and follows rotations.
   */
  readonly requestClientCertificate?: boolean;
  /** wss / https: the CA(s) the server's (the terminator's) certificate must chain to, PEM; default Node's roots. */
  readonly serverCaPem?: string;
  /** The package that is the agent itself: installing it changes service.version (default: the agent's service.name). */
  readonly agentPackage?: string;
  /** DOWNLOADING progress (download_details) at most this often (default PACKAGE_PROGRESS_INTERVAL_MS; 0: with every piece). */
  readonly packageProgressIntervalMs?: number;
  /**
   * With ReportsOwnMetrics: send Collector-like own metrics (OTLP/HTTP) to an
   * offered own_metrics destination every intervalMs (default 10 s), in the
   * Collector's older or newer naming (own-metrics.runner.ts). Default off.
   * `failingExport`: while the agent runs a configuration containing
   * `whenConfigContains`, its exporter fails `sendFailureRate` (default 0.9)
   * of the items (a new version that breaks exporting).
   */
  readonly ownMetrics?: {
    readonly intervalMs?: number;
    readonly naming?: OwnMetricNaming;
    readonly sendFailureRate?: number;
    readonly failingExport?: { readonly whenConfigContains: string; readonly sendFailureRate?: number };
  };
  /**
   * A package download answered 503 with Retry-After (the gateway's download
   * slots are full) is asked again after that delay, at most this many times,
   * still DOWNLOADING meanwhile. Default 0: refused at once and reported
   * INSTALL_FAILED, as opamp-go's package syncer does with any status but 200.
   */
  readonly packageDownloadBusyWaits?: number;
}

/** Settings of one agent. */
export interface PerAgentOptions {
  /** 16 bytes; default a new UUIDv7. */
  readonly instanceUid?: Uint8Array;
  readonly description?: AgentDescriptionInput;
  /** Initial health (default healthy, status "StatusOK"). Change with setHealth(). */
  readonly health?: HealthInput;
  /**
   * Source address of connections (e.g. 127.0.0.N to spread a swarm over more ports).
   * WebSocket connections from it bind explicit local ports from a per-address
   * pool (source-ports.ts), which keeps connecting fast with tens of thousands of
   * sockets on one address.
   */
  readonly localAddress?: string;
  /** Overrides the profile's rng for this agent. */
  readonly rng?: Rng;
}

export interface SimulatedAgentOptions extends Partial<AgentProfile>, PerAgentOptions {
  /** Shared settings; when given, profile fields must not also be set on the options. */
  readonly profile?: AgentProfile;
}

/** A profile with every default filled in (one object per profile, shared). */
export interface ResolvedProfile {
  readonly url: URL;
  readonly transport: TransportKind;
  readonly headers: Readonly<Record<string, string>>;
  readonly capabilities: number;
  readonly heartbeatIntervalMs: number;
  readonly initialEffectiveConfig?: opamp.proto.v1.IAgentConfigMap;
  readonly applyConfig: ApplyConfigPolicy;
  readonly reconnect: BackoffSettings;
  readonly minRetryMs: number;
  readonly firstMessageCompressedOnReconnect: boolean;
  readonly customCapabilities: readonly string[];
  readonly availableComponents?: ComponentsInput;
  readonly availableComponentsHash?: Uint8Array;
  readonly perMessageDeflate: false | PerMessageDeflateOptions;
  readonly gzipRequests: boolean;
  readonly acceptGzip: boolean;
  readonly sendInstanceUidHeader: boolean;
  readonly requestTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly receivedLimit: number;
  readonly rng: Rng;
  readonly httpAgent?: HttpAgent;
  readonly followConnectionSettings: boolean;
  readonly endpointAliases?: Readonly<Record<string, readonly string[]>>;
  readonly agentPackage?: string;
  readonly packageProgressIntervalMs: number;
  readonly packageDownloadBusyWaits: number;
  readonly requestClientCertificate: boolean;
  readonly serverCaPem?: string;
  /** null: no own metrics are sent. */
  readonly ownMetrics: OwnMetricsSettings | null;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
export const DEFAULT_RECONNECT: BackoffSettings = Object.freeze({ initialMs: 1_000, maxMs: 60_000 });
/** What opamp-go (gorilla/websocket) offers: no context takeover in either direction. */
export const DEFAULT_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = Object.freeze({
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
});
const DEFAULT_APPLY: ApplyConfigPolicy = Object.freeze({ delayMs: 0, failureRate: 0 });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_STRINGS: readonly string[] = Object.freeze([]);

const PROFILE_KEYS: ReadonlyArray<keyof AgentProfile> = [
  'endpoint', 'transport', 'headers', 'capabilities', 'heartbeatIntervalMs', 'initialEffectiveConfig',
  'applyConfig', 'reconnect', 'minRetryMs', 'firstMessageCompressedOnReconnect', 'customCapabilities',
  'availableComponents', 'perMessageDeflate', 'gzipRequests', 'acceptGzip', 'sendInstanceUidHeader',
  'requestTimeoutMs', 'stopTimeoutMs', 'receivedLimit', 'httpAgent', 'followConnectionSettings', 'endpointAliases',
  'agentPackage', 'packageProgressIntervalMs', 'packageDownloadBusyWaits', 'requestClientCertificate', 'serverCaPem', 'ownMetrics',
];

const resolved = new WeakMap<object, ResolvedProfile>();

/** The resolved profile for `options` (cached per profile object). */
export function resolveAgentProfile(options: SimulatedAgentOptions): ResolvedProfile {
  const profile = options.profile;
  if (profile) {
    for (const key of PROFILE_KEYS) {
      if (options[key] !== undefined) throw new TypeError(`option "${key}" belongs to the profile: set it there`);
    }
  }
  const source = (profile ?? options) as AgentProfile;
  if (!source.endpoint) throw new TypeError('endpoint is required');
  let result = resolved.get(source);
  if (!result) {
    result = resolveProfile(source);
    resolved.set(source, result);
  }
  return result;
}

function resolveProfile(p: AgentProfile): ResolvedProfile {
  const url = new URL(p.endpoint);
  const schemeTransport: TransportKind | undefined =
    url.protocol === 'ws:' || url.protocol === 'wss:' ? 'ws' : url.protocol === 'http:' || url.protocol === 'https:' ? 'http' : undefined;
  if (!schemeTransport) throw new TypeError(`unsupported endpoint scheme "${url.protocol}" (ws, wss, http, https)`);
  const transport = p.transport ?? schemeTransport;
  // Map the scheme onto the chosen transport (http://host/v1/opamp with transport 'ws' means ws://host/v1/opamp).
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  url.protocol = transport === 'ws' ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:';

  const reconnect = p.reconnect ?? DEFAULT_RECONNECT;
  if (!(reconnect.initialMs >= 0) || !(reconnect.maxMs >= 0)) throw new RangeError('reconnect delays must be >= 0');
  const heartbeatIntervalMs = p.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  if (!(heartbeatIntervalMs > 0)) throw new RangeError('heartbeatIntervalMs must be > 0');
  const policy = p.applyConfig ?? DEFAULT_APPLY;
  if (typeof policy !== 'function') {
    const rate = policy.failureRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError('applyConfig.failureRate must be within 0..1');
  }

  return Object.freeze({
    url,
    transport,
    headers: p.headers ?? NO_HEADERS,
    capabilities: p.capabilities ?? DEFAULT_AGENT_CAPABILITIES,
    heartbeatIntervalMs,
    initialEffectiveConfig: p.initialEffectiveConfig,
    applyConfig: policy,
    reconnect,
    minRetryMs: p.minRetryMs ?? 0,
    firstMessageCompressedOnReconnect: p.firstMessageCompressedOnReconnect ?? false,
    customCapabilities: p.customCapabilities ?? NO_STRINGS,
    availableComponents: p.availableComponents,
    availableComponentsHash: p.availableComponents
      ? (p.availableComponents.hash ?? componentsHash(p.availableComponents))
      : undefined,
    perMessageDeflate:
      p.perMessageDeflate === false ? false : p.perMessageDeflate === true || p.perMessageDeflate === undefined ? DEFAULT_PER_MESSAGE_DEFLATE : p.perMessageDeflate,
    gzipRequests: p.gzipRequests ?? false,
    acceptGzip: p.acceptGzip ?? true,
    sendInstanceUidHeader: p.sendInstanceUidHeader ?? true,
    requestTimeoutMs: p.requestTimeoutMs ?? 10_000,
    stopTimeoutMs: p.stopTimeoutMs ?? 2_000,
    receivedLimit: p.receivedLimit ?? 1000,
    rng: p.rng ?? Math.random,
    httpAgent: p.httpAgent,
    followConnectionSettings: p.followConnectionSettings ?? false,
    endpointAliases: p.endpointAliases,
    agentPackage: p.agentPackage,
    packageProgressIntervalMs: p.packageProgressIntervalMs ?? PACKAGE_PROGRESS_INTERVAL_MS,
    packageDownloadBusyWaits: p.packageDownloadBusyWaits ?? 0,
    requestClientCertificate: p.requestClientCertificate ?? false,
    serverCaPem: p.serverCaPem,
    ownMetrics: p.ownMetrics ? ownMetricsSettings(p.ownMetrics) : null,
  });
}

function ownMetricsSettings(o: NonNullable<AgentProfile['ownMetrics']>): OwnMetricsSettings {
  const intervalMs = o.intervalMs ?? DEFAULT_OWN_METRICS_INTERVAL_MS;
  if (!(intervalMs >= 100)) throw new RangeError('ownMetrics.intervalMs must be >= 100');
  const naming = o.naming ?? 'newer';
  if (naming !== 'older' && naming !== 'newer') throw new RangeError('ownMetrics.naming must be "older" or "newer"');
  const f = o.failingExport;
  if (f && (typeof f.whenConfigContains !== 'string' || f.whenConfigContains === '')) throw new RangeError('ownMetrics.failingExport.whenConfigContains must be a non-empty string');
  const failingRate = f?.sendFailureRate ?? 0.9;
  if (!(failingRate >= 0 && failingRate <= 1)) throw new RangeError('ownMetrics.failingExport.sendFailureRate must be in [0, 1]');
  const failingExport = f ? Object.freeze({ whenConfigContains: f.whenConfigContains, sendFailureRate: failingRate }) : undefined;
  return Object.freeze({ intervalMs, naming, sendFailureRate: o.sendFailureRate, failingExport });
}

/** Validate a caller-provided instance uid. */
export function checkInstanceUid(uid: Uint8Array): Buffer {
  if (uid.length !== INSTANCE_UID_BYTES) throw new RangeError(`instanceUid must be ${INSTANCE_UID_BYTES} bytes, got ${uid.length}`);
  return Buffer.from(uid);
}

/** Package installs (package-install.runner.ts): DOWNLOADING progress at most this often. */
export const PACKAGE_PROGRESS_INTERVAL_MS = 1_000;
/** A cut package download is continued (Range) at most this many times, each after this pause times its attempt number. */
export const PACKAGE_DOWNLOAD_MAX_RESUMES = 5;
export const PACKAGE_DOWNLOAD_RESUME_DELAY_MS = 200;
