/**
 * The built embedded server stops its PostgreSQL server when it is stopped
 * (SIGTERM from a supervisor, SIGINT from a terminal's Ctrl-C), also during its
 * start, and when its start fails after PostgreSQL started: no server process,
 * no lock left behind; it reports itself not ready when PostgreSQL dies.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedServerExited, type EmbeddedServerProcess, randomPortBase, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const running = (pid: number) => {
  try {
    // A zombie (exited, not yet reaped) is gone.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

/** The built server as `npm start` runs it, watched from its first output (before any banner). */
function spawnServer(dataDir: string, basePort: number) {
  return spawn(process.execPath, ['-r', './dist/out-tsc/register-aliases.js', 'dist/out-tsc/apps/fleet-server/src/main.js'], {
    cwd: join(__dirname, '..', '..', '..'),
    env: {
      ...process.env,
      OPAMP_DATA_DIR: dataDir,
      OPAMP_BIND_HOST: '127.0.0.1',
      OPAMP_GATEWAY_PORT: String(basePort),
      OPAMP_GATEWAY_ADMIN_PORT: String(basePort + 1),
      OPAMP_CONFIG_HTTP_PORT: String(basePort + 2),
      OPAMP_CONFIG_GRPC_PORT: String(basePort + 3),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('embedded server stopping its PostgreSQL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-lifecycle-'));
  let server: EmbeddedServerProcess | null = null;

  afterAll(async () => {
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const postgresPid = () => Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s', async (signal) => {
    server = await startEmbeddedServerProcess({ dataDir });
    const pid = postgresPid();
    expect(running(pid)).toBe(true);
    const exited = new Promise<number | null>((r) => server!.child.once('exit', (code) => r(code)));
    server.child.kill(signal);
    expect(await exited).toBe(0);
    server = null;
    await waitFor(() => running(pid), (r) => r === false, { timeoutMs: 10_000, description: 'PostgreSQL stopped' });
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);
  }, 90_000);

  it('when its start fails after PostgreSQL started (the agent port is taken)', async () => {
    const basePort = randomPortBase();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(basePort, '127.0.0.1', () => r()));
    try {
      // The built server on a port another program holds: it exits with the reason, and the start fails at once (no wait for a banner).
      const started = Date.now();
      const failure = await startEmbeddedServerProcess({ dataDir, basePort }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(EmbeddedServerExited);
      const { code, output } = failure as EmbeddedServerExited;
      expect({ code, reason: /cannot listen/i.test(output), quick: Date.now() - started < 30_000 }).toEqual({ code: 1, reason: true, quick: true });
      expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
      expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 90_000);

  it('reports itself not ready when its PostgreSQL dies, and still stops', async () => {
    // Ports of the helper's choosing: it starts again on others when another process holds one.
    server = await startEmbeddedServerProcess({ dataDir });
    const readyz = async () => (await fetch(`${server!.admin}/readyz`)).status;
    expect(await readyz()).toBe(200);
    process.kill(postgresPid(), 'SIGKILL');
    await waitFor(readyz, (status) => status === 503, { timeoutMs: 10_000, description: 'not ready' }).catch((err: unknown) => {
      throw new Error(`${String(err)}; the server printed: ${server!.output.join('').slice(-3000)}`);
    });
    await waitFor(() => server!.output.join(''), (o) => o.includes('embedded PostgreSQL exited unexpectedly'), { description: 'the reason logged' });
    await stopEmbeddedServerProcess(server);
    server = null;
  }, 90_000);

  it('when SIGTERM comes while it starts (PostgreSQL up, the rest not yet)', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'fleet-lifecycle-'));
    try {
      const child = spawnServer(fresh, randomPortBase());
      const pidFile = join(fresh, 'pg', 'postmaster.pid');
      await waitFor(() => existsSync(pidFile), (e) => e, { timeoutMs: 30_000, intervalMs: 10, description: 'PostgreSQL started' });
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await waitFor(() => running(pid), (r) => r === false, { timeoutMs: 10_000, description: 'PostgreSQL stopped' });
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 90_000);
});
