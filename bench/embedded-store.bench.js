// Embedded-store evaluation (issue 15 item 1), on demand, never in CI: which
// store gets the embedded server's database off its event loop. Compares, in
// one run on one machine, one variant after the other:
//   pglite         PGlite in the server's thread (the embedded server before)
//   pglite-worker  PGlite in a worker thread (bench/lib/pglite-worker.js)
//   postgres       a real PostgreSQL server process from the npm binaries
//                  (libs/store EmbeddedPostgresCluster)
// For each: start-up cold (empty directory) and warm; the store workload
// (bench/lib/store-workload.js: 4,000 agents' first connect and one status
// change each through the real repositories, a REST-like page read every
// 50 ms) with throughput, event-loop delay of the Node thread, REST read
// latency and CPU; and crash trials: a writer killed with -9 after each
// acknowledged commit is counted, then the directory reopened and checked
// (for postgres also with its server killed -9 at the same moment, and
// whether the server outlives its killed parent).
//
//   npx nx run-many -t build -p fleet-server && node -r ./dist/out-tsc/register-aliases.js bench/embedded-store.bench.js [--agents=4000] [--batch=1] [--help]
//
// Writes bench/results/embedded-store.json.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('./lib/args');
const { writeResult } = require('./lib/machine');
const { machineBusySeconds, topOthers } = require('./lib/procs');

const opts = parseArgs(
  { agents: 4000, batch: 1, stores: 'pglite,pglite-worker,postgres', crashAfterAcks: 300 },
  'embedded-store evaluation: PGlite in the thread, PGlite in a worker, embedded PostgreSQL',
);
const repo = path.join(__dirname, '..');
const WORKLOAD = path.join(__dirname, 'lib', 'store-workload.js');

function child(args, { uid, gid } = {}) {
  return spawn(process.execPath, ['-r', './dist/out-tsc/register-aliases.js', WORKLOAD, ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid !== undefined ? { uid, gid } : {}),
  });
}

function runChild(args, ids) {
  return new Promise((resolve) => {
    const c = child(args, ids);
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve(line ? JSON.parse(line.slice(7)) : { error: `no result; stderr: ${err.slice(-500)}` });
    });
  });
}

const alive = (pid) => {
  try {
    // A zombie (exited, not yet reaped) is gone.
    if (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z') return false;
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a writer, kills it with -9 once `acks` commits were acknowledged (and its PostgreSQL too if asked), reopens. */
async function crashTrial(store, dataDir, { killServer }) {
  const c = child([`--mode=writer`, `--store=${store}`, `--dataDir=${dataDir}`]);
  let acked = 0;
  let serverPid = 0;
  let buf = '';
  await new Promise((resolve) => {
    c.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) {
        if (l.startsWith('open ')) serverPid = Number(l.slice(5));
        if (l.startsWith('ack ')) acked = Number(l.slice(4));
      }
      if (acked >= opts.crashAfterAcks) resolve();
    });
    c.on('exit', resolve);
  });
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  if (killServer && serverPid) process.kill(serverPid, 'SIGKILL');
  await exited;
  // What the kill left: with the Node parent gone, does its PostgreSQL server still run?
  await sleep(200);
  const serverOutlivedParent = serverPid ? alive(serverPid) : null;
  const socketLeft = store === 'postgres' ? fs.existsSync(path.join(dataDir, '.s.PGSQL.5432')) : null;
  const v = await runChild([`--mode=verify`, `--store=${store}`, `--dataDir=${dataDir}`]);
  return {
    killed: killServer ? 'node parent and postgres server' : 'node process',
    ackedBeforeKill: acked,
    serverOutlivedParent,
    socketLeft,
    reopen: v.error ? { error: v.error.split('\n')[0] } : { ok: true, openMs: v.openMs, rows: v.rows, maxRow: v.maxN },
    acknowledgedLost: v.error ? null : Math.max(0, acked - v.maxN),
    serverGoneAfterReopen: serverPid ? !alive(serverPid) : null,
  };
}

async function main() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-bench-store-'));
  fs.chmodSync(base, 0o755);
  const results = {};
  const others = [];
  try {
    for (const store of opts.stores.split(',')) {
      const dir = (n) => path.join(base, `${store}-${n}`);
      const busy0 = machineBusySeconds();
      const cold = await runChild([`--mode=open`, `--store=${store}`, `--dataDir=${dir('start')}`]);
      const warm = await runChild([`--mode=open`, `--store=${store}`, `--dataDir=${dir('start')}`]);
      console.log(`${store}: start cold ${cold.startMs} ms, warm ${warm.startMs} ms`);
      const othersNow = topOthers([], 1);
      const work = await runChild([
        `--mode=workload`,
        `--store=${store}`,
        `--dataDir=${dir('work')}`,
        `--agents=${opts.agents}`,
        `--batch=${opts.batch}`,
      ]);
      const busy1 = machineBusySeconds();
      others.push({ store, busiestOtherProcesses: await othersNow });
      console.log(`${store}: ${JSON.stringify(work)}`);
      const crashes = [await crashTrial(store, dir('crash'), { killServer: false })];
      if (store === 'postgres') crashes.push(await crashTrial(store, dir('crash2'), { killServer: true }));
      console.log(`${store}: crash ${JSON.stringify(crashes)}`);
      results[store] = {
        start: { coldMs: cold.startMs ?? cold.error, warmMs: warm.startMs ?? warm.error, stopMs: warm.stopMs },
        workload: work,
        crashes,
        machineCpuBusyPercentDuring: +(((busy1.busy - busy0.busy) / (busy1.total - busy0.total)) * 100 * os.cpus().length).toFixed(0) + ' % of one core',
      };
    }
    if (process.getuid() === 0 && opts.stores.includes('postgres')) {
      // The same start as an unprivileged user (nobody), on a directory it owns.
      const d = path.join(base, 'as-nobody');
      fs.mkdirSync(d);
      fs.chownSync(d, 65534, 65534);
      const r = await runChild([`--mode=open`, `--store=postgres`, `--dataDir=${path.join(d, 'pg')}`], { uid: 65534, gid: 65534 });
      results.postgresAsNonRoot = r.error ? { error: r.error.split('\n')[0] } : { ok: true, uid: r.uid, coldStartMs: r.startMs };
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const file = writeResult('embedded-store', {
    options: opts,
    note: 'variants run one after the other in one run; other sessions share the machine (busiestOtherProcesses, machineCpuBusyPercentDuring)',
    runAsUid: process.getuid(),
    results,
    others,
  });
  console.log(`wrote ${path.relative(repo, file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
