/**
 * The embedded PostgreSQL server from the npm binaries, as the embedded
 * server runs it: created on first start, migrated, durable across a restart,
 * and started again after its Node parent was killed with -9 (the server it
 * left running is stopped) and over a postmaster.pid whose pid belongs to
 * another program.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@opamp/testing';
import { Client } from 'pg';
import { EmbeddedPostgresCluster, listMigrationFiles, migrateToLatest } from '../src';

/** A Node process running `body` with EmbeddedPostgresCluster in scope (the TypeScript source, compiled on load). */
function storeScript(body: string): ChildProcess {
  const script = `
    const ts = require('typescript');
    const fs = require('fs');
    require.extensions['.ts'] = (m, file) =>
      m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);
    const { EmbeddedPostgresCluster } = require(${JSON.stringify(join(__dirname, '..', 'src', 'embedded-postgres.cluster.ts'))});
    ${body}`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

const alive = (pid: number) => {
  try {
    // A zombie (exited, not yet reaped) is gone.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

async function withClient<T>(cluster: EmbeddedPostgresCluster, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: cluster.connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL cluster (npm binaries)', () => {
  const dirs: string[] = [];
  const running: EmbeddedPostgresCluster[] = [];
  const children: ChildProcess[] = [];
  const freshDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'opamp-pg-test-'));
    dirs.push(d);
    return join(d, 'pg');
  };
  const start = async (dataDir: string) => {
    const c = await EmbeddedPostgresCluster.start({ dataDir });
    running.push(c);
    return c;
  };

  afterAll(async () => {
    for (const c of running) await c.stop();
    for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('creates the cluster, runs the migrations, and keeps committed rows across a restart', async () => {
    const dataDir = freshDir();
    const first = await start(dataDir);
    await withClient(first, async (c) => {
      expect(await migrateToLatest(c)).toEqual(listMigrationFiles());
      await c.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'one')`);
    });
    await first.stop();
    const second = await start(dataDir);
    await withClient(second, async (c) => {
      expect(await migrateToLatest(c)).toEqual([]);
      expect((await c.query(`SELECT name FROM tenants WHERE id = 't1'`)).rows).toEqual([{ name: 'one' }]);
    });
    await second.stop();
  });

  it('starts after its Node parent was killed with -9: the server left running is stopped, committed rows are there', async () => {
    const dataDir = freshDir();
    // A parent process of its own that starts the cluster, commits a row, says so, and is then killed.
    const parent = storeScript(`
      const { Client } = require('pg');
      EmbeddedPostgresCluster.start({ dataDir: ${JSON.stringify(dataDir)} }).then(async (c) => {
        const client = new Client({ connectionString: c.connectionString });
        await client.connect();
        await client.query('CREATE TABLE probe (n int)');
        await client.query('INSERT INTO probe VALUES (1)');
        process.stdout.write('committed ' + c.pid + '\\n');
        setInterval(() => undefined, 1000);
      });`);
    children.push(parent);
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const line = await waitFor(() => out, (o) => /committed \d+/.test(o), { timeoutMs: 60_000, description: 'the parent committed' });
    const orphanPid = Number(/committed (\d+)/.exec(line)![1]);
    const gone = new Promise((r) => parent.once('exit', r));
    parent.kill('SIGKILL');
    await gone;
    expect(alive(orphanPid)).toBe(true); // PostgreSQL does not follow its parent

    const next = await start(dataDir);
    expect(alive(orphanPid)).toBe(false);
    await withClient(next, async (c) => {
      expect((await c.query('SELECT n FROM probe')).rows).toEqual([{ n: 1 }]);
    });
    await next.stop();
  }, 90_000);

  it('starts over a postmaster.pid whose pid now belongs to another program', async () => {
    const dataDir = freshDir();
    const first = await start(dataDir);
    await first.stop();
    // A kill -9 of the server leaves its postmaster.pid; after a reboot its pid may be anyone's: here, a sleeping program's.
    // Of the server's own user (PostgreSQL takes a pid of another user for gone): as root, the server runs as nobody.
    const asServer = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const other = spawn('sleep', ['60'], { stdio: 'ignore', ...asServer });
    children.push(other);
    writeFileSync(join(dataDir, 'postmaster.pid'), `${other.pid}\n${dataDir}\n1700000000\n5432\n${dataDir}\n\n  0  0\nready   \n`);
    const second = await start(dataDir);
    await withClient(second, async (c) => {
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    await second.stop();
  });

  it('puts its socket in a private temporary directory when the cluster path is too long for one', async () => {
    const dataDir = join(freshDir(), 'x'.repeat(100));
    const c = await start(dataDir);
    expect(c.socketDir.startsWith(tmpdir())).toBe(true);
    await withClient(c, async (client) => {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    const socketDir = c.socketDir;
    await c.stop();
    expect(existsSync(socketDir)).toBe(false);
  });

  it('fails its start with the reason when the server binary cannot be run, and can start again', async () => {
    const dataDir = freshDir();
    await (await start(dataDir)).stop();
    const noBinaries = mkdtempSync(join(tmpdir(), 'opamp-pg-test-'));
    dirs.push(noBinaries);
    await expect(EmbeddedPostgresCluster.start({ dataDir, binDir: noBinaries })).rejects.toThrow(/embedded PostgreSQL could not be run: spawn .*ENOENT/);
    await (await start(dataDir)).stop();
  });

  it('refuses a second start on the same cluster while the first runs', async () => {
    const dataDir = freshDir();
    await start(dataDir);
    await expect(EmbeddedPostgresCluster.start({ dataDir })).rejects.toThrow(/is in use by process/);
  });
});
