/**
 * Owns the options of a swarm run, their defaults and their validation.
 */
import { checkDescriptionModel, DEFAULT_DESCRIPTION_MODEL, type DescriptionModel } from './description';
import type { OwnMetricNaming } from '@opamp/agent-sim';

/** How every simulated agent behaves (shared by all agents of the swarm). */
export interface SwarmAgentSettings {
  /** Heartbeat (WS) / poll (HTTP) interval. */
  readonly heartbeatIntervalMs: number;
  /** Simulated time to apply a remote config. */
  readonly applyDelayMs: number;
  /** Share of remote config applies that fail (0..1). */
  readonly applyFailureRate: number;
  /** Health flaps per agent per hour (0 = never): the agent reports unhealthy, then healthy again. */
  readonly healthFlapsPerHour: number;
  /** How long a flapping agent stays unhealthy. */
  readonly unhealthyMs: number;
  /**
   * Every this often each agent reports a new numbered status (health status `StatusOK #n`), and
   * the worker tracks the last number the gateway acknowledged (status-ack.tracker.ts); 0 = off.
   */
  readonly statusCounterIntervalMs: number;
  /** Full-jitter exponential backoff after transport failures. */
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  /** Lower bound for server-requested delays (Retry-After, retry_info). */
  readonly minRetryMs: number;
  /** Extra request headers (Authorization ...). */
  readonly headers: Readonly<Record<string, string>>;
  readonly requestTimeoutMs: number;
  readonly perMessageDeflate: boolean;
  /** Send only what changed in the first message after a WS reconnect (like opamp-go). */
  readonly firstMessageCompressedOnReconnect: boolean;
  /** AgentCapabilities bitmask; default the Collector's set plus restart. */
  readonly capabilities?: number;
  /**
   * Follow connection settings offers like the OpAMP supervisor (new endpoint,
   * headers, heartbeat; rolled back when refused). Adds AcceptsOpAMPConnectionSettings
   * and ReportsConnectionSettingsStatus to the capabilities. Default off.
   */
  readonly followConnectionSettings: boolean;
  /** Offered host[:port] → host:port list agents connect to instead (one per agent, by uid): gateways behind one public URL. */
  readonly endpointAliases?: Readonly<Record<string, readonly string[]>>;
  /**
   * Take package offers (PackagesAvailable) like opamp-go's package syncer:
   * download each file over HTTP, check its SHA-256, report package statuses
   * (DOWNLOADING with progress, INSTALLED, INSTALL_FAILED); installing
   * `agentPackage` changes the agent's service.version. Adds AcceptsPackages
   * and ReportsPackageStatuses to the capabilities. Default off.
   */
  readonly acceptPackages: boolean;
  /** The package that is the agent itself (default: its service.name). */
  readonly agentPackage?: string;
  /** 503 + Retry-After answers to a download waited out, at most (0: INSTALL_FAILED at once, as opamp-go). */
  readonly packageDownloadBusyWaits: number;
  /** Client-certificate mode (with followConnectionSettings): a key and CSR per agent, the offered certificate presented over TLS. */
  readonly requestClientCertificate?: boolean;
  /** wss / https: the CA (PEM) the server's certificate must chain to. */
  readonly serverCaPem?: string;
  /** Own metrics to an offered own_metrics destination (adds ReportsOwnMetrics); absent: none. */
  readonly ownMetrics?: { readonly intervalMs: number; readonly naming: OwnMetricNaming };
  /** Effective config body before any remote config (YAML). */
  readonly initialConfig: string;
}

export interface SwarmOptions {
  readonly agents: number;
  /** OpAMP endpoints (ws:// or http:// URLs of /v1/opamp); agent i uses endpoint i mod E. */
  readonly endpoints: readonly string[];
  /** Share of agents on WebSocket (the rest poll over plain HTTP), 0..1. */
  readonly wsFraction?: number;
  readonly workers?: number;
  readonly maxAgentsPerWorker?: number;
  readonly addresses?: readonly string[];
  readonly firstAddress?: string;
  readonly maxConnectionsPerAddress?: number;
  /** Agents started per second over the whole swarm. */
  readonly rampPerSecond?: number;
  /** The swarm stops by itself this long after it started. */
  readonly durationMs?: number;
  /** Seed of the descriptions (same seed, same fleet). */
  readonly seed?: number;
  readonly description?: Partial<DescriptionModel>;
  readonly agent?: Partial<SwarmAgentSettings>;
  /** How often workers report (and progress is computed). */
  readonly statsIntervalMs?: number;
  /** The worker entry file to fork (default: worker-main beside this module). */
  readonly workerEntry?: string;
  /** Node options for the workers (default: what loading the entry needs). */
  readonly workerExecArgv?: readonly string[];
  /** How long workers get to stop their agents before they are killed. */
  readonly stopTimeoutMs?: number;
}

export interface ResolvedSwarmOptions extends Required<Omit<SwarmOptions, 'description' | 'agent' | 'workerEntry' | 'workerExecArgv' | 'addresses' | 'firstAddress' | 'workers'>> {
  readonly workers: number;
  readonly addresses?: readonly string[];
  readonly firstAddress?: string;
  readonly description: DescriptionModel;
  readonly agent: SwarmAgentSettings;
  readonly workerEntry?: string;
  readonly workerExecArgv?: readonly string[];
}

export const DEFAULT_INITIAL_CONFIG = `receivers:
  otlp:
    protocols:
      grpc: {}
processors:
  batch: {}
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`;

export const DEFAULT_AGENT_SETTINGS: SwarmAgentSettings = Object.freeze({
  heartbeatIntervalMs: 30_000,
  applyDelayMs: 0,
  applyFailureRate: 0,
  healthFlapsPerHour: 0,
  unhealthyMs: 10_000,
  statusCounterIntervalMs: 0,
  reconnect: Object.freeze({ initialMs: 1_000, maxMs: 60_000 }),
  minRetryMs: 0,
  headers: Object.freeze({}),
  requestTimeoutMs: 10_000,
  perMessageDeflate: true,
  firstMessageCompressedOnReconnect: false,
  followConnectionSettings: false,
  acceptPackages: false,
  packageDownloadBusyWaits: 0,
  initialConfig: DEFAULT_INITIAL_CONFIG,
});

export function resolveSwarmOptions(options: SwarmOptions): ResolvedSwarmOptions {
  const agent: SwarmAgentSettings = { ...DEFAULT_AGENT_SETTINGS, ...options.agent };
  const description: DescriptionModel = { ...DEFAULT_DESCRIPTION_MODEL, ...options.description };
  checkDescriptionModel(description);
  const resolved: ResolvedSwarmOptions = {
    agents: options.agents,
    endpoints: [...options.endpoints],
    wsFraction: options.wsFraction ?? 1,
    workers: options.workers ?? 1,
    maxAgentsPerWorker: options.maxAgentsPerWorker ?? 15_000,
    addresses: options.addresses,
    firstAddress: options.firstAddress,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 25_000,
    rampPerSecond: options.rampPerSecond ?? 500,
    durationMs: options.durationMs ?? 600_000,
    seed: (options.seed ?? 1) >>> 0,
    statsIntervalMs: options.statsIntervalMs ?? 1_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
    description,
    agent,
    workerEntry: options.workerEntry,
    workerExecArgv: options.workerExecArgv,
  };
  const problems: string[] = [];
  if (!Number.isSafeInteger(resolved.agents) || resolved.agents < 1) problems.push('agents must be an integer >= 1');
  if (resolved.endpoints.length === 0) problems.push('at least one endpoint is needed');
  for (const e of resolved.endpoints) {
    try {
      const u = new URL(e);
      if (!['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol)) problems.push(`endpoint ${e}: use ws(s):// or http(s)://`);
    } catch {
      problems.push(`endpoint ${e} is not a URL`);
    }
  }
  if (!(resolved.wsFraction >= 0 && resolved.wsFraction <= 1)) problems.push('wsFraction must be within 0..1');
  if (!(resolved.rampPerSecond > 0)) problems.push('rampPerSecond must be > 0');
  if (!(resolved.durationMs > 0)) problems.push('durationMs must be > 0');
  if (!(resolved.statsIntervalMs >= 100)) problems.push('statsIntervalMs must be >= 100');
  if (!(agent.heartbeatIntervalMs > 0)) problems.push('heartbeatIntervalMs must be > 0');
  if (!(agent.applyDelayMs >= 0)) problems.push('applyDelayMs must be >= 0');
  if (!(Number.isSafeInteger(agent.packageDownloadBusyWaits) && agent.packageDownloadBusyWaits >= 0)) problems.push('packageDownloadBusyWaits must be an integer >= 0');
  if (!(agent.applyFailureRate >= 0 && agent.applyFailureRate <= 1)) problems.push('applyFailureRate must be within 0..1');
  if (!(agent.healthFlapsPerHour >= 0)) problems.push('healthFlapsPerHour must be >= 0');
  if (!(agent.unhealthyMs >= 0)) problems.push('unhealthyMs must be >= 0');
  if (!(agent.statusCounterIntervalMs === 0 || agent.statusCounterIntervalMs >= 100)) problems.push('statusCounterIntervalMs must be 0 or >= 100');
  if (!(agent.reconnect.initialMs >= 0 && agent.reconnect.maxMs >= agent.reconnect.initialMs)) {
    problems.push('reconnect: need 0 <= initialMs <= maxMs');
  }
  if (problems.length > 0) throw new RangeError(`invalid swarm options: ${problems.join('; ')}`);
  return resolved;
}
