/**
 * Owns what a previous run of the embedded PostgreSQL may have left in its
 * cluster directory: a server still running after its Node parent was killed
 * with -9 (an orphan: PostgreSQL does not follow its parent), and lock files
 * (postmaster.pid, the socket's .lock) whose pid PostgreSQL would take for a
 * live server. Process facts come from /proc where there is one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_POSTGRES_DEFAULTS } from './store-limits';

export type ClusterLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid on the first line of a postmaster.pid, or null. */
export function postmasterPid(pidFileText: string): number | null {
  const pid = Number.parseInt(pidFileText.split('\n', 1)[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** A pid's state: a zombie (exited, not yet reaped: a container's init may be slow to) counts as gone. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a running pid is a PostgreSQL server (the name its binary runs under). */
function isPostgres(pid: number): boolean {
  try {
    return /(^|\/)postgres$/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0', 1)[0] ?? '');
  } catch {
    try {
      return /(^|\/)postgres$/.test(execFileSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    } catch {
      return false;
    }
  }
}

/** Live processes working in `dir` (a PostgreSQL server's backends do); empty where /proc does not say. */
function processesIn(dir: string): number[] {
  if (!existsSync('/proc/self/cwd')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir && running(Number(entry))) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/**
 * A server still running on this cluster after its Node parent was killed is
 * shut down. A postmaster.pid whose pid is a zombie or now another program's
 * PostgreSQL would take for a live server (kill(pid, 0) succeeds): once no
 * process of the old server works in the directory any more, it and the socket
 * lock are removed. One whose pid is gone PostgreSQL replaces itself.
 */
export async function clearPreviousServer(dataDir: string, log?: ClusterLog): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = postmasterPid(readFileSync(pidFile, 'utf8'));
  if (pid === null) return;
  const deadline = Date.now() + EMBEDDED_POSTGRES_DEFAULTS.stopTimeoutMs;
  // Not our children: their exit can only be polled.
  const until = async (done: () => boolean) => {
    while (!done() && Date.now() < deadline) await delay(EMBEDDED_POSTGRES_DEFAULTS.readyPollMs);
    return done();
  };
  if (running(pid) && isPostgres(pid)) {
    log?.('warn', 'stopping the embedded PostgreSQL left running by a previous run', { pid });
    process.kill(pid, 'SIGINT');
    if (!(await until(() => !running(pid)))) process.kill(pid, 'SIGQUIT');
    return;
  }
  let probablyAlive = false;
  try {
    process.kill(pid, 0);
    probablyAlive = true;
  } catch {
    // gone: PostgreSQL handles its stale lock files
  }
  if (!probablyAlive) return;
  // Backends of a killed server exit on their own once they notice; the shared memory is theirs until then.
  if (!(await until(() => processesIn(dataDir).length === 0))) {
    throw new Error(`processes of a previous PostgreSQL server still run in ${dataDir} (${processesIn(dataDir).join(', ')}); stop them first`);
  }
  log?.('warn', 'removing the lock files of a PostgreSQL server that is gone', { pid });
  for (const f of ['postmaster.pid', `.s.PGSQL.${EMBEDDED_POSTGRES_DEFAULTS.socketPort}.lock`]) rmSync(join(dataDir, f), { force: true });
}
