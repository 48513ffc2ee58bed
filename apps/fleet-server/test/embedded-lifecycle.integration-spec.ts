/**
 * The built embedded server stops its PostgreSQL server when it is stopped
 * (SIGTERM from a supervisor, SIGINT from a terminal's Ctrl-C): no server
 * process, no lock left behind, and the next start finds its data.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const running = (pid: number) => {
  try {
    // A zombie (exited, not yet reaped) is gone.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

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
});
