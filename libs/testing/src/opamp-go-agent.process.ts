/**
 * The opamp-go test agent (apps/fleet-e2e/test-agents/opamp-go-agent) as a
 * child process: built once per machine and source version into
 * tmp/opamp-go-agent/<hash of the sources>/, started with flags, read as its
 * JSON event lines, driven by JSON commands on stdin. A real OpAMP client
 * library against the server, where the simulated agent is our own code.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from './embedded-server-process';

/** Where the agent's Go sources are, relative to the workspace root. */
export const OPAMP_GO_AGENT_SOURCES = join('apps', 'fleet-e2e', 'test-agents', 'opamp-go-agent');
/** A cold build downloads opamp-go and its modules from the Go module proxy first. */
const BUILD_TIMEOUT_MS = 600_000;

/** The agent's events: `event`, `time`, `credential` (a token fingerprint) and the event's own fields. */
export interface OpampGoAgentEvent {
  readonly event: string;
  readonly time: string;
  readonly credential: string;
  readonly [field: string]: unknown;
}

export interface OpampGoAgentOptions {
  /** ws(s):// picks the WebSocket client, http(s):// the plain-HTTP one. */
  readonly endpoint: string;
  readonly token?: string;
  /** 32 hex chars; random when left out. */
  readonly uid?: string;
  readonly stateDir?: string;
  /** Non-identifying attributes of the agent's description. */
  readonly labels?: Readonly<Record<string, string>>;
  /** AgentCapabilities names; the agent's default set when left out. */
  readonly caps?: readonly string[];
  /** Initial heartbeat (plain HTTP: poll) interval. */
  readonly heartbeatSeconds?: number;
  readonly applyTimeoutMs?: number;
  /** Files for TLS: the CA of the server's certificate, and a client certificate with its key (mutual TLS). */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Once connected, send a CSR for its uid (issue 18; events certificate_requested, certificate_offered). */
  readonly requestCertificate?: boolean;
  /** Where the CSR's key is kept (PKCS#8 PEM, made there when absent); an offered certificate for it becomes the agent's client certificate. */
  readonly certificateKeyFile?: string;
  /**
   * Accept packages (issue 17): the agent's package files and state live in this directory
   * (AcceptsPackages and ReportsPackageStatuses are added to its capabilities).
   */
  readonly packagesDir?: string;
  /** The package that is the agent itself (its installed version becomes service.version); default `opamp-go-test-agent`. */
  readonly agentPackage?: string;
  /** Continue a download that broke off with a Range request (opamp-go alone does not). */
  readonly resumeDownloads?: boolean;
  /**
   * Declare ReportsOwnMetrics and follow the own_metrics offer: POST a small
   * OTLP/JSON metrics export to it with its headers (issue 19; events
   * own_metrics_offered, own_metrics_sent); again every intervalMs when given.
   */
  readonly ownMetrics?: boolean | { readonly intervalMs: number };
  /** The binary; built (or found built) by buildOpampGoAgent when left out. */
  readonly binary?: string;
}

export interface OpampGoAgentProcess {
  readonly child: ChildProcess;
  readonly uid: string;
  /** Every event so far, in order. */
  readonly events: readonly OpampGoAgentEvent[];
  /** What the agent wrote to stderr so far (opamp-go's errors), for failure messages. */
  stderr(): string;
  /** The first event, past or future, that matches; rejects at the timeout or when the agent exits first. */
  waitForEvent(predicate: (e: OpampGoAgentEvent) => boolean, timeoutMs?: number, description?: string): Promise<OpampGoAgentEvent>;
  /** One command line on stdin, e.g. `{ cmd: 'state' }`. */
  send(cmd: { readonly cmd: string; readonly [field: string]: unknown }): void;
  /** `{"cmd":"stop"}` and the exit code (0: it sent agent_disconnect and stopped). */
  stop(): Promise<number | null>;
  /** SIGTERM and the exit code. */
  terminate(): Promise<number | null>;
}

/** A digest of every source file (and the Go version): a change means a new build directory. */
export function opampGoAgentSourceHash(dir: string, goVersion: string): string {
  const hash = createHash('sha256').update(`go ${goVersion}\n`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
    .sort();
  for (const f of files) hash.update(`${f}\n`).update(readFileSync(join(dir, f))).update('\n');
  return hash.digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * The agent's binary, built if this version of the sources has none yet. Safe
 * when several test workers call it at once: each builds to a name of its own
 * and renames it into place (a rename replaces atomically; the builds are equal).
 */
export async function buildOpampGoAgent(): Promise<string> {
  const root = workspaceRoot();
  const src = join(root, OPAMP_GO_AGENT_SOURCES);
  // Only the module proxy (GOPROXY as configured) is reached, for a cold module cache.
  const env = { ...process.env, GOFLAGS: '-mod=mod -buildvcs=false', CGO_ENABLED: '0' };
  const goVersion = await run('go', ['env', 'GOVERSION'], src, env);
  const dir = join(root, 'tmp', 'opamp-go-agent', opampGoAgentSourceHash(src, goVersion));
  const binary = join(dir, 'opamp-go-agent');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await run('go', ['build', '-trimpath', '-o', partial, '.'], src, env);
    renameSync(partial, binary);
  } finally {
    rmSync(partial, { force: true });
  }
  // Builds of older sources in this checkout are never used again.
  const builds = join(root, 'tmp', 'opamp-go-agent');
  for (const old of readdirSync(builds)) if (join(builds, old) !== dir) rmSync(join(builds, old), { recursive: true, force: true });
  return binary;
}

/** Starts the agent; resolves once the process is spawned (wait for `connected` with waitForEvent). */
export async function startOpampGoAgent(options: OpampGoAgentOptions): Promise<OpampGoAgentProcess> {
  const binary = options.binary ?? (await buildOpampGoAgent());
  const uid = options.uid ?? randomBytes(16).toString('hex');
  const args = ['-endpoint', options.endpoint, '-uid', uid];
  if (options.token !== undefined) args.push('-token', options.token);
  if (options.stateDir !== undefined) args.push('-state-dir', options.stateDir);
  if (options.caps !== undefined) args.push('-caps', options.caps.join(','));
  if (options.heartbeatSeconds !== undefined) args.push('-heartbeat', String(options.heartbeatSeconds));
  if (options.applyTimeoutMs !== undefined) args.push('-apply-timeout', `${options.applyTimeoutMs}ms`);
  if (options.requestCertificate) args.push('-request-certificate');
  if (options.certificateKeyFile) args.push('-certificate-key', options.certificateKeyFile);
  if (options.packagesDir !== undefined) args.push('-packages-dir', options.packagesDir);
  if (options.agentPackage !== undefined) args.push('-agent-package', options.agentPackage);
  if (options.resumeDownloads) args.push('-resume-downloads');
  if (options.ownMetrics) args.push('-own-metrics');
  if (typeof options.ownMetrics === 'object') args.push('-own-metrics-interval', `${options.ownMetrics.intervalMs}ms`);
  for (const [k, v] of Object.entries(options.labels ?? {})) args.push('-label', `${k}=${v}`);
  if (options.tls?.caFile) args.push('-tls-ca', options.tls.caFile);
  if (options.tls?.certFile) args.push('-tls-cert', options.tls.certFile);
  if (options.tls?.keyFile) args.push('-tls-key', options.tls.keyFile);

  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: OpampGoAgentEvent[] = [];
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  let stderr = '';
  let partialLine = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partialLine + d.toString()).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        events.push(JSON.parse(line) as OpampGoAgentEvent);
      } catch {
        stderr += `(stdout, not JSON) ${line}\n`;
      }
    }
    notify();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('exit', notify);
  child.stdin.on('error', () => undefined); // a write after the agent exited: the exit is what the test sees

  const waitForEvent = (predicate: (e: OpampGoAgentEvent) => boolean, timeoutMs = 15_000, description = 'an event') =>
    new Promise<OpampGoAgentEvent>((resolve, reject) => {
      const report = () => `events: ${events.map((e) => JSON.stringify(e)).join('\n')}\nstderr: ${stderr}`;
      const check = () => {
        const hit = events.find(predicate);
        if (!hit && child.exitCode === null && child.signalCode === null) return;
        listeners.delete(check);
        clearTimeout(timer);
        if (hit) resolve(hit);
        else reject(new Error(`opamp-go agent exited (${child.exitCode ?? child.signalCode}) before ${description}\n${report()}`));
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}\n${report()}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const ended = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    return exited;
  };
  return {
    child,
    uid,
    events,
    stderr: () => stderr,
    waitForEvent,
    send: (cmd) => {
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.stdin.write('{"cmd":"stop"}\n');
      return ended();
    },
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return ended();
    },
  };
}
