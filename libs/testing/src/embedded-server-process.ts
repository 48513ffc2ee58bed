/**
 * The built embedded server (`dist/out-tsc/apps/fleet-server`) as a child
 * process, for end-to-end tests: started on loopback ports of its own with a
 * data directory, known from its start-up banner (addresses and tokens), and
 * stopped with SIGTERM. Tests drive it as a process, so this lib imports no app.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from './wait-for';

export interface EmbeddedServerProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  readonly output: string[];
  /** The web console: the REST API's address without `/api/v1`. */
  readonly base: string;
  /** The REST API, ending in `/api/v1`. */
  readonly api: string;
  /** The OpAMP endpoint over WebSocket (ws://...). */
  readonly ws: string;
  /** The OpAMP endpoint over plain HTTP (http://...). */
  readonly http: string;
  /** The Prometheus scrape of the whole process (http://.../metrics). */
  readonly metrics: string;
  readonly adminToken: string;
  readonly agentToken: string;
  /** The admin port's address (health, readiness, metrics), e.g. http://127.0.0.1:20001. */
  readonly admin: string;
}

export interface EmbeddedServerProcessOptions {
  /** Where the server keeps its database and credentials; reuse it to restart on the same state. */
  readonly dataDir: string;
  /** First of the four consecutive ports the server listens on (agents, admin, REST, gRPC). */
  readonly basePort?: number;
  /** How long the server may take until its banner is printed. */
  readonly startTimeoutMs?: number;
  /** More settings for the server (its OPAMP_* environment). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * A random first port of four in 20000..32699: below Linux's ephemeral range
 * (32768..60999), where the outgoing connections of every process on the
 * machine (Kafka clients, browsers) take ports and would make a listen fail.
 */
export function randomPortBase(): number {
  return 20_000 + Math.floor(Math.random() * 12_700);
}

/** How often a start whose port another process took is retried on fresh ports (only when the caller left the ports to us). */
const START_ATTEMPTS_ON_PORT_CLASH = 3;

/** The directory holding nx.json above `start` (the built server is found from there). */
export function workspaceRoot(start: string = __dirname): string {
  let dir = start;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/**
 * Starts the built embedded server and resolves once its banner is out; fails
 * as soon as the process exits without one (with what it printed). A start
 * that could not listen is retried on other ports when no basePort was given.
 */
export async function startEmbeddedServerProcess(options: EmbeddedServerProcessOptions): Promise<EmbeddedServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.basePort ?? randomPortBase());
    } catch (err) {
      const clash = err instanceof EmbeddedServerExited && /cannot listen/.test(err.output);
      if (!clash || options.basePort !== undefined || attempt >= START_ATTEMPTS_ON_PORT_CLASH) throw err;
    }
  }
}

/** The server process ended before its banner. */
export class EmbeddedServerExited extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`embedded server exited with ${code} before its banner; it printed: ${output.slice(-2000)}`);
  }
}

async function startOnce(options: EmbeddedServerProcessOptions, basePort: number): Promise<EmbeddedServerProcess> {
  const child = spawn(process.execPath, ['-r', './dist/out-tsc/register-aliases.js', 'dist/out-tsc/apps/fleet-server/src/main.js'], {
    cwd: workspaceRoot(),
    env: {
      ...process.env,
      OPAMP_DATA_DIR: options.dataDir,
      OPAMP_BIND_HOST: '127.0.0.1',
      OPAMP_GATEWAY_PORT: String(basePort),
      OPAMP_GATEWAY_ADMIN_PORT: String(basePort + 1),
      OPAMP_CONFIG_HTTP_PORT: String(basePort + 2),
      OPAMP_CONFIG_GRPC_PORT: String(basePort + 3),
      OPAMP_DRAIN_WINDOW_MS: '200',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  // The banner's last address line is the metrics one (apps/fleet-server/src/main.ts).
  const banner = await waitFor(
    () => {
      const printed = output.join('');
      if (exitCode !== undefined && !printed.includes('metrics ')) throw new EmbeddedServerExited(exitCode, printed);
      return printed;
    },
    (o) => o.includes('metrics '),
    { timeoutMs: options.startTimeoutMs ?? 60_000, description: 'server banner', rethrow: (err) => err instanceof EmbeddedServerExited },
  ).catch(async (err: unknown) => {
    // A server that hangs is stopped gracefully first (its database server with it), killed if that hangs too.
    if (exitCode === undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    throw err;
  });
  const pick = (re: RegExp) => re.exec(banner)?.[1] ?? '';
  const api = pick(/REST API\s+(\S+)/);
  return {
    child,
    output,
    api,
    base: api.replace(/\/api\/v1$/, ''),
    ws: pick(/agents connect to\s+(\S+)/),
    http: pick(/\s(http:\/\/\S+\/v1\/opamp)/),
    metrics: pick(/metrics\s+(http:\/\/\S+)/),
    adminToken: pick(/admin token\s+(\S+)/),
    agentToken: pick(/agent token\s+(\S+)/),
    admin: `http://127.0.0.1:${basePort + 1}`,
  };
}

/** SIGTERM (a graceful stop) and resolves when the process exited; nothing to do if it already has. */
export async function stopEmbeddedServerProcess(server: EmbeddedServerProcess): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** A REST call of the server's API with its admin token: the status and the JSON body. */
export async function embeddedRest(
  server: EmbeddedServerProcess,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep into answers
): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${server.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
