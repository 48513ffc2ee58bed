/**
 * The only place the swarm reads its configuration: environment variables
 * (SWARM_*) and command-line flags, which override them. Every flag is the
 * spelling of one variable, so both go through one schema and one check.
 */
import { readFileSync } from 'node:fs';
import { bool, type EnvVar, int, list, readEnv, str } from '@opamp/config';
import type { OwnMetricNaming } from '@opamp/agent-sim';
import {
  DEFAULT_DESCRIPTION_MODEL,
  type DescriptionModel,
  type Distribution,
  parseAddressList,
  parseDistribution,
  parseEqualitySelector,
  seedFromText,
  type SwarmOptions,
} from '@opamp/swarm';

function num(options: { default: number; min?: number; max?: number }): EnvVar<number> {
  return {
    parse(raw, name) {
      const n = raw === undefined || raw.trim() === '' ? options.default : Number(raw.trim());
      if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${raw}"`);
      if (options.min !== undefined && n < options.min) throw new Error(`${name} must be >= ${options.min}`);
      if (options.max !== undefined && n > options.max) throw new Error(`${name} must be <= ${options.max}`);
      return n;
    },
  };
}

export const swarmEnv = {
  SWARM_AGENTS: int({ default: 1_000, min: 1 }),
  /** OpAMP endpoint URLs, comma-separated; agent i uses endpoint i mod E. */
  SWARM_ENDPOINTS: list({ default: ['ws://127.0.0.1:4320/v1/opamp'] }),
  /** Share of agents on WebSocket, in percent (the rest poll over plain HTTP). */
  SWARM_WS_PERCENT: num({ default: 100, min: 0, max: 100 }),
  /** Worker processes (0: as many as the per-worker limit needs). */
  SWARM_WORKERS: int({ default: 0, min: 0 }),
  SWARM_MAX_AGENTS_PER_WORKER: int({ default: 15_000, min: 1, max: 19_500 }),
  /** Source addresses, e.g. 127.0.0.2-127.0.0.9 (default: as many as needed from 127.0.0.2). */
  SWARM_ADDRESSES: str({ default: '' }),
  SWARM_MAX_CONNECTIONS_PER_ADDRESS: int({ default: 25_000, min: 1 }),
  SWARM_RAMP_PER_SECOND: num({ default: 500, min: 0.1 }),
  SWARM_DURATION_S: num({ default: 300, min: 1 }),
  SWARM_SEED: str({ default: '1' }),
  /** Bearer token for the gateway. */
  SWARM_TOKEN: str({ default: '', secret: true }),
  SWARM_HEARTBEAT_S: num({ default: 30, min: 0.1 }),
  SWARM_APPLY_DELAY_MS: int({ default: 0, min: 0 }),
  SWARM_APPLY_FAILURE_RATE: num({ default: 0, min: 0, max: 1 }),
  SWARM_FLAPS_PER_HOUR: num({ default: 0, min: 0 }),
  SWARM_UNHEALTHY_MS: int({ default: 10_000, min: 0 }),
  SWARM_RECONNECT_INITIAL_MS: int({ default: 1_000, min: 0 }),
  SWARM_RECONNECT_MAX_MS: int({ default: 60_000, min: 0 }),
  SWARM_MIN_RETRY_MS: int({ default: 0, min: 0 }),
  SWARM_PER_MESSAGE_DEFLATE: bool({ default: true }),
  SWARM_FOLLOW_CONNECTION_SETTINGS: bool({ default: false }),
  /** Take package offers: download, check the hash, report statuses (AcceptsPackages). */
  SWARM_ACCEPT_PACKAGES: bool({ default: false }),
  /** 503 + Retry-After answers to a package download waited out, at most (0: INSTALL_FAILED at once, as opamp-go). */
  SWARM_PACKAGE_BUSY_WAITS: int({ default: 0, min: 0 }),
  /** Client-certificate mode: a key and CSR per agent, the offered certificate presented (to a mutual-TLS terminator). */
  SWARM_CLIENT_CERTIFICATE: bool({ default: false }),
  /** wss / https endpoints: PEM file of the CA the server's (terminator's) certificate chains to. */
  SWARM_SERVER_CA_FILE: str({ default: '' }),
  /** Own metrics (issue 19): agents declare ReportsOwnMetrics and send Collector-like OTLP metrics to an offered destination. */
  SWARM_OWN_METRICS: bool({ default: false }),
  SWARM_OWN_METRICS_INTERVAL_MS: int({ default: 10_000, min: 100 }),
  SWARM_OWN_METRICS_NAMING: str({ default: 'newer', choices: ['older', 'newer'] }),
  SWARM_SERVICES: str({ default: '' }),
  SWARM_VERSIONS: str({ default: '' }),
  SWARM_OS_TYPES: str({ default: '' }),
  SWARM_ENVIRONMENTS: str({ default: '' }),
  SWARM_REGIONS: str({ default: '' }),
  /** Extra labels on every agent, key=value,... */
  SWARM_LABELS: str({ default: '' }),
  SWARM_CONVERGE_HASH: str({ default: '' }),
  SWARM_CONVERGE_SELECTOR: str({ default: '' }),
  /** When t0 is: "connected" (all agents connected), "start", epoch ms or an ISO time. SIGUSR2 marks it again, now. */
  SWARM_CONVERGE_T0: str({ default: 'connected' }),
  SWARM_STOP_WHEN_CONVERGED: bool({ default: false }),
  SWARM_JSON: str({ default: '' }),
  SWARM_PROGRESS: bool({ default: true }),
  SWARM_STATS_INTERVAL_MS: int({ default: 1_000, min: 100 }),
};

type SwarmEnvName = keyof typeof swarmEnv;

interface Flag {
  readonly name: string;
  readonly env: SwarmEnvName;
  readonly help: string;
  /** A switch takes no value (`--flag` sets true, `--no-flag` false). */
  readonly switch?: boolean;
}

export const FLAGS: readonly Flag[] = [
  { name: 'agents', env: 'SWARM_AGENTS', help: 'number of agents (1000)' },
  { name: 'endpoint', env: 'SWARM_ENDPOINTS', help: 'OpAMP endpoint URL(s), comma-separated (ws://127.0.0.1:4320/v1/opamp)' },
  { name: 'ws-percent', env: 'SWARM_WS_PERCENT', help: 'percent of agents on WebSocket, the rest on plain HTTP (100)' },
  { name: 'workers', env: 'SWARM_WORKERS', help: 'worker processes (0 = as many as needed)' },
  { name: 'max-agents-per-worker', env: 'SWARM_MAX_AGENTS_PER_WORKER', help: 'agents per worker at most (15000; open-files limit 20000)' },
  { name: 'addresses', env: 'SWARM_ADDRESSES', help: 'source addresses, e.g. 127.0.0.2-127.0.0.9 (auto from 127.0.0.2)' },
  { name: 'max-per-address', env: 'SWARM_MAX_CONNECTIONS_PER_ADDRESS', help: 'connections per source address and endpoint at most (25000)' },
  { name: 'ramp', env: 'SWARM_RAMP_PER_SECOND', help: 'agents started per second, whole swarm (500)' },
  { name: 'duration', env: 'SWARM_DURATION_S', help: 'seconds until the swarm stops by itself (300)' },
  { name: 'seed', env: 'SWARM_SEED', help: 'seed of the descriptions, number or text (1)' },
  { name: 'token', env: 'SWARM_TOKEN', help: 'bearer token for the gateway (or SWARM_TOKEN)' },
  { name: 'heartbeat', env: 'SWARM_HEARTBEAT_S', help: 'heartbeat / poll interval in seconds (30)' },
  { name: 'apply-delay', env: 'SWARM_APPLY_DELAY_MS', help: 'simulated remote config apply time, ms (0)' },
  { name: 'apply-failure-rate', env: 'SWARM_APPLY_FAILURE_RATE', help: 'share of applies that fail, 0..1 (0)' },
  { name: 'flaps-per-hour', env: 'SWARM_FLAPS_PER_HOUR', help: 'health flaps per agent per hour (0)' },
  { name: 'unhealthy-ms', env: 'SWARM_UNHEALTHY_MS', help: 'how long a flap stays unhealthy, ms (10000)' },
  { name: 'reconnect-initial', env: 'SWARM_RECONNECT_INITIAL_MS', help: 'first backoff window, ms (1000)' },
  { name: 'reconnect-max', env: 'SWARM_RECONNECT_MAX_MS', help: 'backoff window cap, ms (60000)' },
  { name: 'min-retry', env: 'SWARM_MIN_RETRY_MS', help: 'lower bound for Retry-After / retry_info, ms (0)' },
  { name: 'deflate', env: 'SWARM_PER_MESSAGE_DEFLATE', help: 'offer permessage-deflate on WS (on)', switch: true },
  {
    name: 'follow-connection-settings',
    env: 'SWARM_FOLLOW_CONNECTION_SETTINGS',
    help: 'take connection settings offers like the OpAMP supervisor (own credentials, rotation) (off)',
    switch: true,
  },
  {
    name: 'accept-packages',
    env: 'SWARM_ACCEPT_PACKAGES',
    help: 'take package offers: download each file from its download_url, check its SHA-256, report package statuses (off)',
    switch: true,
  },
  { name: 'package-busy-waits', env: 'SWARM_PACKAGE_BUSY_WAITS', help: 'download answers 503 + Retry-After waited out before INSTALL_FAILED (0, as opamp-go)' },
  {
    name: 'client-certificate',
    env: 'SWARM_CLIENT_CERTIFICATE',
    help: 'send a CSR per agent and connect with the offered client certificate (mutual TLS); needs --follow-connection-settings (off)',
    switch: true,
  },
  { name: 'own-metrics', env: 'SWARM_OWN_METRICS', help: "declare ReportsOwnMetrics and send own metrics (OTLP/HTTP) to an offered own_metrics destination (off)", switch: true },
  { name: 'own-metrics-interval', env: 'SWARM_OWN_METRICS_INTERVAL_MS', help: 'own metrics sent every this many ms (10000)' },
  { name: 'own-metrics-naming', env: 'SWARM_OWN_METRICS_NAMING', help: "the Collector's metric names: older (OpenCensus) or newer (SDK, v0.110+) (newer)" },
  { name: 'server-ca-file', env: 'SWARM_SERVER_CA_FILE', help: 'PEM CA file the wss/https server certificate must chain to (Node roots)' },
  { name: 'services', env: 'SWARM_SERVICES', help: 'service.name distribution, name:weight,...' },
  { name: 'versions', env: 'SWARM_VERSIONS', help: 'service.version distribution' },
  { name: 'os', env: 'SWARM_OS_TYPES', help: 'os.type distribution (linux:90,windows:8,darwin:2)' },
  { name: 'environments', env: 'SWARM_ENVIRONMENTS', help: 'deployment.environment.name distribution (prod:70,staging:20,dev:10)' },
  { name: 'regions', env: 'SWARM_REGIONS', help: 'cloud.region distribution' },
  { name: 'labels', env: 'SWARM_LABELS', help: 'extra labels on every agent, key=value,...' },
  { name: 'converge-hash', env: 'SWARM_CONVERGE_HASH', help: 'measure convergence on this config hash (hex)' },
  { name: 'converge-selector', env: 'SWARM_CONVERGE_SELECTOR', help: 'targeted agents, key=value,... (all)' },
  { name: 'converge-t0', env: 'SWARM_CONVERGE_T0', help: 't0: connected | start | epoch ms | ISO time (connected); SIGUSR2 marks now' },
  { name: 'stop-when-converged', env: 'SWARM_STOP_WHEN_CONVERGED', help: 'stop as soon as the targeted agents converged', switch: true },
  { name: 'json', env: 'SWARM_JSON', help: 'write the JSON report to this file' },
  { name: 'progress', env: 'SWARM_PROGRESS', help: 'print a progress line per interval (on)', switch: true },
  { name: 'stats-interval', env: 'SWARM_STATS_INTERVAL_MS', help: 'progress interval, ms (1000)' },
];

export type ConvergeT0 = { readonly kind: 'connected' } | { readonly kind: 'start' } | { readonly kind: 'at'; readonly epochMs: number };

export interface SwarmCliConfig {
  readonly swarm: SwarmOptions;
  readonly converge?: { readonly hash: string; readonly selector: string; readonly t0: ConvergeT0 };
  readonly stopWhenConverged: boolean;
  readonly jsonPath: string;
  readonly progress: boolean;
}

export type SwarmCliRequest = { readonly help: true } | ({ readonly help: false } & SwarmCliConfig);

/** Flags as variables (`--agents 5000` → SWARM_AGENTS=5000, `--agents=5000` too). */
export function flagsToEnv(argv: readonly string[]): { env: Record<string, string>; help: boolean } {
  const env: Record<string, string> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf('=');
    let name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    let negated = false;
    if (!FLAGS.some((f) => f.name === name) && name.startsWith('no-')) {
      name = name.slice(3);
      negated = true;
    }
    const flag = FLAGS.find((f) => f.name === name);
    if (!flag) throw new Error(`unknown flag --${name} (see --help)`);
    if (flag.switch) {
      env[flag.env] = negated ? 'false' : eq > 0 ? arg.slice(eq + 1) : 'true';
      continue;
    }
    if (negated) throw new Error(`--no-${name} is not a switch`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    env[flag.env] = value;
  }
  return { env, help };
}

export function usage(): string {
  const width = Math.max(...FLAGS.map((f) => f.name.length)) + 4;
  return [
    'usage: swarm [flags]     (every flag also reads from its variable, flags win)',
    '',
    ...FLAGS.map((f) => `  --${f.name.padEnd(width)}${f.help}  [${f.env}]`),
    '',
    'Convergence: with --converge-hash, the swarm measures from t0 until every agent matching',
    '--converge-selector reports APPLIED for that hash. Exit code 2 if it did not converge.',
  ].join('\n');
}

function distribution(text: string, field: string, fallback: Distribution): Distribution {
  return text ? parseDistribution(text, field) : fallback;
}

function parseT0(text: string): ConvergeT0 {
  if (text === 'connected' || text === 'start') return { kind: text };
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n)) throw new Error('SWARM_CONVERGE_T0 must be connected, start, epoch ms or an ISO time');
  return { kind: 'at', epochMs: n };
}

export function loadSwarmConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): SwarmCliRequest {
  const flags = flagsToEnv(argv);
  if (flags.help) return { help: true };
  const e = readEnv(swarmEnv, { ...env, ...flags.env });
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const d = DEFAULT_DESCRIPTION_MODEL;
  const description = attempt(
    (): DescriptionModel => ({
      services: distribution(e.SWARM_SERVICES, 'SWARM_SERVICES', d.services),
      serviceVersions: distribution(e.SWARM_VERSIONS, 'SWARM_VERSIONS', d.serviceVersions),
      osTypes: distribution(e.SWARM_OS_TYPES, 'SWARM_OS_TYPES', d.osTypes),
      environments: distribution(e.SWARM_ENVIRONMENTS, 'SWARM_ENVIRONMENTS', d.environments),
      regions: distribution(e.SWARM_REGIONS, 'SWARM_REGIONS', d.regions),
      extraLabels: parseEqualitySelector(e.SWARM_LABELS),
    }),
  );
  const addresses = e.SWARM_ADDRESSES ? attempt(() => parseAddressList(e.SWARM_ADDRESSES)) : undefined;
  const selector = attempt(() => parseEqualitySelector(e.SWARM_CONVERGE_SELECTOR));
  const t0 = attempt(() => parseT0(e.SWARM_CONVERGE_T0));
  if (e.SWARM_CONVERGE_HASH && !/^[0-9a-fA-F]+$/.test(e.SWARM_CONVERGE_HASH)) problems.push('SWARM_CONVERGE_HASH must be hex');
  if (e.SWARM_STOP_WHEN_CONVERGED && !e.SWARM_CONVERGE_HASH) problems.push('SWARM_STOP_WHEN_CONVERGED needs SWARM_CONVERGE_HASH');
  if (e.SWARM_RECONNECT_MAX_MS < e.SWARM_RECONNECT_INITIAL_MS) problems.push('SWARM_RECONNECT_MAX_MS must be >= SWARM_RECONNECT_INITIAL_MS');
  if (e.SWARM_CLIENT_CERTIFICATE && !e.SWARM_FOLLOW_CONNECTION_SETTINGS) problems.push('SWARM_CLIENT_CERTIFICATE needs SWARM_FOLLOW_CONNECTION_SETTINGS (the certificate comes in a connection settings offer)');
  let serverCaPem: string | undefined;
  if (e.SWARM_SERVER_CA_FILE) {
    try {
      serverCaPem = readFileSync(e.SWARM_SERVER_CA_FILE, 'utf8');
    } catch (err) {
      problems.push(`SWARM_SERVER_CA_FILE cannot be read: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0 || !description || !selector || !t0) {
    throw new Error(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const swarm: SwarmOptions = {
    agents: e.SWARM_AGENTS,
    endpoints: e.SWARM_ENDPOINTS,
    wsFraction: e.SWARM_WS_PERCENT / 100,
    workers: e.SWARM_WORKERS || undefined,
    maxAgentsPerWorker: e.SWARM_MAX_AGENTS_PER_WORKER,
    addresses,
    maxConnectionsPerAddress: e.SWARM_MAX_CONNECTIONS_PER_ADDRESS,
    rampPerSecond: e.SWARM_RAMP_PER_SECOND,
    durationMs: Math.round(e.SWARM_DURATION_S * 1000),
    seed: seedFromText(e.SWARM_SEED),
    statsIntervalMs: e.SWARM_STATS_INTERVAL_MS,
    description,
    agent: {
      headers: e.SWARM_TOKEN ? { Authorization: `Bearer ${e.SWARM_TOKEN}` } : {},
      heartbeatIntervalMs: Math.round(e.SWARM_HEARTBEAT_S * 1000),
      applyDelayMs: e.SWARM_APPLY_DELAY_MS,
      applyFailureRate: e.SWARM_APPLY_FAILURE_RATE,
      healthFlapsPerHour: e.SWARM_FLAPS_PER_HOUR,
      unhealthyMs: e.SWARM_UNHEALTHY_MS,
      reconnect: { initialMs: e.SWARM_RECONNECT_INITIAL_MS, maxMs: e.SWARM_RECONNECT_MAX_MS },
      minRetryMs: e.SWARM_MIN_RETRY_MS,
      perMessageDeflate: e.SWARM_PER_MESSAGE_DEFLATE,
      followConnectionSettings: e.SWARM_FOLLOW_CONNECTION_SETTINGS,
      acceptPackages: e.SWARM_ACCEPT_PACKAGES,
      packageDownloadBusyWaits: e.SWARM_PACKAGE_BUSY_WAITS,
      requestClientCertificate: e.SWARM_CLIENT_CERTIFICATE,
      ...(e.SWARM_OWN_METRICS ? { ownMetrics: { intervalMs: e.SWARM_OWN_METRICS_INTERVAL_MS, naming: e.SWARM_OWN_METRICS_NAMING as OwnMetricNaming } } : {}),
      ...(serverCaPem ? { serverCaPem } : {}),
    },
  };
  return {
    help: false,
    swarm,
    converge: e.SWARM_CONVERGE_HASH ? { hash: e.SWARM_CONVERGE_HASH.toLowerCase(), selector: e.SWARM_CONVERGE_SELECTOR, t0 } : undefined,
    stopWhenConverged: e.SWARM_STOP_WHEN_CONVERGED,
    jsonPath: e.SWARM_JSON,
    progress: e.SWARM_PROGRESS,
  };
}
