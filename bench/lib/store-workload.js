// One store variant of the embedded-store evaluation, in a process of its own
// (so its CPU and event loop are its own), printing one JSON line as result.
//
//   --mode=workload  the embedded server's per-agent statements (ingest's
//                    AgentRepository and config-service's DesiredStateRepository,
//                    the real code from dist/): each agent's first connect
//                    (tenant, row lock, upsert, then the reconciler's reads and
//                    its decision write) and one status change each, from 4
//                    concurrent partitions as the embedded server's queues run
//                    them, while a REST-like page read runs every 50 ms.
//   --mode=writer    commits numbered rows one transaction at a time and prints
//                    "ack N" after each commit returned (the crash trial kills it).
//   --mode=verify    reopens the data directory and prints what it holds.
//   --mode=open      opens (creating on first use) and closes: start-up time.
//
// --store: pglite (in the main thread, today's embedded server), pglite-worker
// (PGlite in a worker thread), postgres (embedded PostgreSQL server process).
const path = require('path');
const fs = require('fs');
const crypto = require('crypto');
const { monitorEventLoopDelay } = require('perf_hooks');
const { parseArgs } = require('./args');

const opts = parseArgs(
  { mode: 'workload', store: 'postgres', dataDir: '', agents: 4000, batch: 1, partitions: 4, readEveryMs: 50, pageSize: 100 },
  'store-workload: one variant of bench/embedded-store.bench.js',
);
const DIST_STORE = path.join(__dirname, '..', '..', 'dist', 'out-tsc', 'libs', 'store', 'src');
const store = require('@opamp/store');

function postgresGroupCpuSeconds(masterPid) {
  // The postmaster (with what its exited children used) and its live children (each in a session of its own).
  let total = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(d) !== masterPid && Number(f[1]) !== masterPid) continue;
      total += Number(f[11]) + Number(f[12]) + (Number(d) === masterPid ? Number(f[13]) + Number(f[14]) : 0);
    } catch {
      /* gone */
    }
  }
  return total / 100;
}

async function open() {
  const t0 = performance.now();
  if (opts.store === 'pglite') {
    const db = await store.PgliteSqlDatabase.open(opts.dataDir);
    const applied = await store.migrateToLatest(db);
    return { db, applied, startMs: performance.now() - t0, close: () => db.close(), serverCpu: () => 0 };
  }
  if (opts.store === 'pglite-worker') {
    const { openPgliteInWorker } = require('./pglite-worker');
    const db = await openPgliteInWorker(opts.dataDir, DIST_STORE);
    return { db, applied: db.applied, startMs: performance.now() - t0, close: () => db.close(), serverCpu: () => 0 };
  }
  const cluster = await store.EmbeddedPostgresCluster.start({ dataDir: opts.dataDir });
  const pool = store.createPgPool({ connectionString: cluster.connectionString, applicationName: 'store-bench', max: 10 });
  const client = await pool.connect();
  let applied;
  try {
    applied = await store.migrateToLatest(client);
  } finally {
    client.release();
  }
  const db = new store.PgSqlDatabase(pool);
  return {
    db,
    applied,
    pid: cluster.pid,
    startMs: performance.now() - t0,
    close: async () => {
      await pool.end();
      await cluster.stop();
    },
    serverCpu: () => postgresGroupCpuSeconds(cluster.pid),
  };
}

function pct(sorted, p) {
  return sorted.length === 0 ? null : +sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
}

async function workload() {
  const { AgentRepository, newAgentState } = require('@opamp/ingest');
  const { DesiredStateRepository } = require('@opamp/desired-state');
  const s = await open();
  const { db } = s;
  const agents = new AgentRepository();
  const desired = new DesiredStateRepository(db);
  const tenant = `bench-${crypto.randomBytes(3).toString('hex')}`;
  const uids = Array.from({ length: opts.agents }, () => crypto.randomBytes(16));

  async function write(batch, change) {
    const keys = batch.map((instanceUid) => ({ tenantId: tenant, instanceUid }));
    await db.transaction(async (tx) => {
      await agents.ensureTenants(tx, [tenant]);
      const loaded = await agents.loadForUpdate(tx, keys);
      const states = batch.map((uid) => {
        const st = loaded.get(`${tenant}/${uid.toString('hex')}`) ?? newAgentState(tenant, uid);
        change(st);
        st.recordVersion += 1;
        return st;
      });
      await agents.upsert(tx, states);
    });
    agents.tenantsCommitted([tenant]);
    // The reconciler's part of the same event: what was sent, rollout pins, the decision.
    await desired.agentStates(tenant, batch);
    await desired.rolloutPins(tenant, batch);
    await desired.writeAgentStates(
      tenant,
      batch.map((instanceUid) => ({ instanceUid, configurationName: null, configurationVersion: null, desiredHash: null, notSentReason: 'no matching assignment', sentHash: null })),
    );
  }
  const connect = (st) => {
    const now = Date.now();
    Object.assign(st, {
      connected: true,
      descriptionReported: true,
      capabilities: 0x1fff,
      identifyingAttributes: { 'service.name': 'otelcol', 'service.instance.id': st.instanceUid.toString('hex') },
      nonIdentifyingAttributes: { 'os.type': 'linux', 'host.name': `host-${st.instanceUid.toString('hex').slice(0, 8)}` },
      health: { healthy: true, status: 'running', startTimeUnixNano: '1', statusTimeUnixNano: '1' },
      healthy: true,
      epoch: now,
      seqEpoch: now,
      lastSequenceNum: 1,
      gatewayId: 'embedded',
      connectionId: crypto.randomBytes(8).toString('hex'),
      transport: 1,
      connectedSinceMs: now,
      lastSeenMs: now,
    });
  };
  const statusChange = (st) => {
    st.health = { healthy: false, status: 'degraded', startTimeUnixNano: '1', statusTimeUnixNano: '2' };
    st.healthy = false;
    st.lastSequenceNum = (st.lastSequenceNum ?? 0) + 1;
    st.lastSeenMs = Date.now();
  };

  async function phase(change) {
    const t0 = performance.now();
    const parts = Array.from({ length: opts.partitions }, (_, p) => uids.filter((_, i) => i % opts.partitions === p));
    await Promise.all(
      parts.map(async (mine) => {
        for (let i = 0; i < mine.length; i += opts.batch) await write(mine.slice(i, i + opts.batch), change);
      }),
    );
    return (performance.now() - t0) / 1000;
  }

  const h = monitorEventLoopDelay({ resolution: 5 });
  // A loop that never reaches its timers records no delay at all: the longest gap between 5 ms ticks shows it.
  let lastTick = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - lastTick);
    lastTick = now;
  }, 5);
  const reads = [];
  let readsMissed = 0;
  let readBusy = false;
  const readStart = performance.now();
  let tick = 0;
  const reader = setInterval(() => {
    const due = readStart + ++tick * opts.readEveryMs;
    if (readBusy) {
      readsMissed++;
      return;
    }
    readBusy = true;
    desired
      .agentsPage(tenant, null, opts.pageSize)
      // Latency from when the read was due: a blocked loop delays the timer too.
      .then(() => reads.push(performance.now() - due))
      .finally(() => (readBusy = false));
  }, opts.readEveryMs);
  const cpu0 = process.cpuUsage();
  const server0 = s.serverCpu();
  h.enable();
  const connectS = await phase(connect);
  const changeS = await phase(statusChange);
  h.disable();
  clearInterval(reader);
  clearInterval(ticker);
  maxGap = Math.max(maxGap, performance.now() - lastTick);
  const readsDue = tick;
  const cpu = process.cpuUsage(cpu0);
  const serverCpuS = s.serverCpu() - server0;
  const rows = Number((await db.query('SELECT count(*)::int AS n FROM agents WHERE tenant_id = $1 AND NOT healthy', [tenant])).rows[0].n);
  const rssMiB = +(process.memoryUsage().rss / 2 ** 20).toFixed(0);
  await s.close();
  reads.sort((a, b) => a - b);
  const wall = connectS + changeS;
  const nodeCpuS = (cpu.user + cpu.system) / 1e6;
  return {
    store: opts.store,
    agents: opts.agents,
    batch: opts.batch,
    partitions: opts.partitions,
    startMs: +s.startMs.toFixed(0),
    connect: { seconds: +connectS.toFixed(2), agentsPerSecond: +(opts.agents / connectS).toFixed(0) },
    statusChange: { seconds: +changeS.toFixed(2), agentsPerSecond: +(opts.agents / changeS).toFixed(0) },
    eventLoopDelayMs: {
      samples: h.count,
      p50: +(h.percentile(50) / 1e6).toFixed(1),
      p99: +(h.percentile(99) / 1e6).toFixed(1),
      max: +(h.max / 1e6).toFixed(1),
      longestTimerGap: +maxGap.toFixed(0),
    },
    restReadMs: { due: Math.round((connectS + changeS) * 1000 / opts.readEveryMs), fired: readsDue, done: reads.length, skippedBusy: readsMissed, p50: pct(reads, 50), p99: pct(reads, 99), max: pct(reads, 100) },
    cpu: {
      nodeProcessSeconds: +nodeCpuS.toFixed(2),
      postgresServerSeconds: +serverCpuS.toFixed(2),
      nodeCoresBusy: +(nodeCpuS / wall).toFixed(2),
      totalCpuSecondsPerAgent: +(((nodeCpuS + serverCpuS) / opts.agents) * 1000).toFixed(2) + ' ms',
    },
    rowsChecked: rows,
    nodeRssMiB: rssMiB,
  };
}

async function writer() {
  const s = await open();
  await s.db.query('CREATE TABLE IF NOT EXISTS crash_probe (n integer PRIMARY KEY, payload text NOT NULL)');
  process.stdout.write(`open ${s.pid ?? 0}\n`);
  for (let n = 1; ; n++) {
    await s.db.transaction(async (tx) => {
      await tx.query('INSERT INTO crash_probe (n, payload) VALUES ($1, $2)', [n, crypto.randomBytes(200).toString('hex')]);
    });
    process.stdout.write(`ack ${n}\n`);
  }
}

async function verify() {
  const t0 = performance.now();
  const s = await open();
  const opened = performance.now() - t0;
  const { rows } = await s.db.query('SELECT count(*)::int AS n, coalesce(max(n), 0)::int AS top FROM crash_probe');
  await s.close();
  return { openMs: +opened.toFixed(0), rows: rows[0].n, maxN: rows[0].top };
}

async function openOnly() {
  const s = await open();
  const t0 = performance.now();
  await s.close();
  return { startMs: +s.startMs.toFixed(0), applied: s.applied.length, stopMs: +(performance.now() - t0).toFixed(0), uid: process.getuid() };
}

const run = { workload, writer, verify, open: openOnly }[opts.mode];
run()
  .then((result) => {
    if (result) process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((err) => {
    process.stdout.write(`RESULT ${JSON.stringify({ error: String(err && err.stack ? err.stack : err) })}\n`);
    process.exit(1);
  });
