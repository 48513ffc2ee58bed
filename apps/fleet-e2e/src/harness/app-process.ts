/**
 * One built app (dist/out-tsc/apps/<app>/src/main.js) as a real child process:
 * started with its own environment, output kept in a log file and in a short
 * in-memory tail (for failure messages), stopped by signal with a bounded wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@opamp/testing';

export type AppName = 'gateway' | 'status-ingest' | 'config-service';

export interface AppProcessOptions {
  /** Label in logs and messages, e.g. "gateway-1". */
  readonly name: string;
  readonly app: AppName;
  /** The workspace root (holds dist/out-tsc). */
  readonly root: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory for <name>.log. */
  readonly logDir: string;
}

const TAIL_LINES = 400;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** If the test process itself goes away, no child may outlive it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export function builtEntryPoint(root: string, app: AppName): string {
  return join(root, 'dist', 'out-tsc', 'apps', app, 'src', 'main.js');
}

export class AppProcess {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private readonly tail: string[] = [];
  private partial = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** How many times this process was started. */
  starts = 0;

  constructor(readonly options: AppProcessOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exitInfo === null;
  }

  /** How the last run ended (null while running or before the first start). */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitInfo;
  }

  get logFile(): string {
    return join(this.options.logDir, `${this.options.name}.log`);
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const { root, app, env } = this.options;
    const main = builtEntryPoint(root, app);
    if (!existsSync(main)) throw new Error(`${main} is missing: build the apps first (npx nx run ${app}:build)`);
    installExitHook();
    this.starts++;
    this.exitInfo = null;
    // waitForOutput looks at this run's output only (the log file keeps every run).
    this.tail.length = 0;
    this.partial = '';
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    this.log.write(`\n===== start #${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['-r', join(root, 'dist', 'out-tsc', 'register-aliases.js'), main], {
      cwd: root,
      env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    const onData = (chunk: Buffer) => this.record(chunk);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        this.log?.write(`===== exited code=${code} signal=${signal} at ${new Date().toISOString()}\n`);
        resolve();
      });
    });
  }

  /** Resolves once a line of output matches (and the process still runs); fails with the output tail. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    await this.waitUntil(() => this.tail.some((line) => pattern.test(line)), `${this.name} to print ${pattern}`, timeoutMs);
  }

  /** Polls `probe` while the process runs; fails early (with the output tail) if it exits. */
  async waitUntil(probe: () => boolean | Promise<boolean>, description: string, timeoutMs: number): Promise<void> {
    try {
      await waitFor(
        async () => {
          if (!this.running) return 'exited';
          return (await probe()) ? 'yes' : 'no';
        },
        (v) => v !== 'no',
        { timeoutMs, intervalMs: 100, description },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.describe()}`);
    }
    if (!this.running) throw new Error(`${this.name} exited while waiting for ${description}\n${this.describe()}`);
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Abrupt death, like a crash or an OOM kill. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL', 0);
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    this.start();
  }

  /** Closes the log file (after the last stop). */
  async close(): Promise<void> {
    await this.stop('SIGKILL', 0);
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }

  /** Name, state and the last lines of output, for failure messages. */
  describe(): string {
    const state = this.running ? `running (pid ${this.pid})` : `exited ${JSON.stringify(this.exitInfo)}`;
    return `--- ${this.name} ${state}, log ${this.logFile}, last output:\n${this.tail.slice(-25).join('\n')}`;
  }

  private record(chunk: Buffer): void {
    this.log?.write(chunk);
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }
}
