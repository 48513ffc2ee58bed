/**
 * The shipped mutual-TLS terminator (deploy/mtls/haproxy-mtls.cfg) run by
 * Debian's haproxy as a child process of the test, in master-worker mode as
 * deployed, on a free loopback port, with the test's files: its server
 * certificate, the CA bundle and the CRL. `infra.sh tools` (part of `up`)
 * installs haproxy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspaceRoot } from './embedded-server-process';
import { freePort } from './free-port';
import { waitFor } from './wait-for';

export const HAPROXY_MTLS_CONFIG = join('deploy', 'mtls', 'haproxy-mtls.cfg');

export interface TerminatorFiles {
  /** The terminator's certificate and key, PEM. */
  serverPem: string;
  /** Every CA whose clients are accepted, PEM. */
  caBundlePem: string;
  /** One CRL per CA of the bundle, PEM. */
  crlPem: string;
}

export class HaproxyTerminator {
  private output = '';
  private exited: number | null | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.once('exit', (code) => (this.exited = code));
    child.once('error', (err) => {
      // Not installed: say how to get it.
      this.output += `${err.message} (install it with: deploy/infra/infra.sh tools)\n`;
      this.exited = null;
    });
  }

  /**
   * Starts HAProxy in front of `gateway` (host:port); resolves once it accepts
   * TLS connections. `port`: where it listens (one the test chose, e.g. from
   * randomPortBase(), when the server must know its public address first).
   */
  static async start(gateway: string, files: TerminatorFiles, port?: number): Promise<HaproxyTerminator> {
    const dir = mkdtempSync(join(tmpdir(), 'haproxy-mtls-'));
    // The names terminator-sync.js writes.
    const paths = { server: join(dir, 'server.pem'), ca: join(dir, 'ca-bundle.pem'), crl: join(dir, 'crl.pem') };
    writeFileSync(paths.server, files.serverPem, { mode: 0o600 });
    writeFileSync(paths.ca, files.caBundlePem);
    writeFileSync(paths.crl, files.crlPem);
    const listen = port ?? (await freePort());
    const child = spawn('haproxy', ['-W', '-f', join(workspaceRoot(), HAPROXY_MTLS_CONFIG)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        OPAMP_MTLS_BIND: `127.0.0.1:${listen}`,
        OPAMP_MTLS_SERVER_CERT: paths.server,
        OPAMP_MTLS_CA_FILE: paths.ca,
        OPAMP_MTLS_CRL_FILE: paths.crl,
        OPAMP_MTLS_GATEWAY: gateway,
      },
    });
    const t = new HaproxyTerminator(child, dir, listen);
    await t.loaded(1);
    return t;
  }

  /** The master's pid: what an operator's reload signals. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Where its files are (ca-bundle.pem, crl.pem, server.pem): what a sync writes. */
  get filesDir(): string {
    return this.dir;
  }

  /** The CRL HAProxy reads on its next reload. */
  writeCrl(crlPem: string): void {
    writeFileSync(join(this.dir, 'crl.pem'), crlPem);
  }

  /** Reloads the files as an operator would (SIGUSR2 to the master); resolves once the new worker runs. */
  async reload(): Promise<void> {
    const before = this.loads();
    this.child.kill('SIGUSR2');
    await this.loaded(before + 1);
  }

  /** How many times it loaded its configuration so far (1 after the start, +1 per reload). */
  loads(): number {
    return this.count('Loading success.');
  }

  /** Resolves once it loaded its configuration this many times (a reload sent by someone else). */
  async loaded(times: number): Promise<void> {
    await waitFor(
      () => ({ ok: this.loads() >= times, exited: this.exited }),
      (s) => s.ok || s.exited !== undefined,
      { timeoutMs: 15_000, description: 'haproxy loaded its configuration' },
    );
    if (this.exited !== undefined) throw new Error(`haproxy exited (${this.exited}):\n${this.output}`);
  }

  /** What HAProxy logged so far (its log lines and the master's notices). */
  log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.exited === undefined) {
      const exit = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await exit;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private count(text: string): number {
    return this.output.split(text).length - 1;
  }
}
