// Ingest throughput benchmark (issue 7 "throughput", issue 4's benchmark), on
// demand, never in CI: inbound messages per second end to end
// (gateway -> Kafka -> status-ingest -> PostgreSQL) at saturation.
//
// Distributed mode: Kafka, Redis, PostgreSQL (infra.sh up), one gateway, one
// status-ingest (the process measured), one config-service (so agent events are
// consumed as in production), and a closed-loop swarm (bench/lib/ingest-flood-worker.js):
// C WebSocket agents each keeping W messages in flight. Phases, each `seconds`
// long and followed by a drain (until status-ingest's consumer lag is 0):
//
//   heartbeat  only heartbeats (nothing changed: must cost no row write)
//   status     only status changes (health flips: each one a real change)
//   mix        issue 4's mix: 90 % heartbeats, 10 % status changes
//
// Per phase: produced rate (gateway's durable-in-Kafka counter and the topic's
// end offsets), ingested rate (status-ingest's committed offsets: kafkajs admin
// fetchOffsets / fetchTopicOffsets), consumer lag, PostgreSQL row writes per
// second (pg_stat_user_tables of the run's own database), CPU of every process
// kind, and which one is the bottleneck.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/ingest-throughput.bench.js [--connections=2000] [--seconds=30] [--help]
//
// Writes bench/results/ingest-throughput.json.
const { fork } = require('child_process');
const path = require('path');
const { Client } = require('pg');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    connections: 2_000,
    window: 2,
    workers: 2,
    seconds: 30,
    phases: 'heartbeat,status,mix',
    statusFraction: 0.1,
    drainTimeoutS: 180,
    basePort: 14500,
    skipBuild: false,
    // Issue 21: this server's own traces at this sample ratio (every app exports to a sink of the bench); -1: off.
    traceRatio: -1,
  },
  'ingest throughput benchmark: messages per second gateway -> Kafka -> status-ingest -> PostgreSQL at saturation',
);
const BENCH = 'ingest-throughput';

/** An OTLP/HTTP traces endpoint that takes every export (200, an empty response message) and counts it. */
async function traceSink() {
  const http = require('node:http');
  const sink = { requests: 0, bytes: 0, url: '', close: () => undefined };
  const server = http.createServer((req, res) => {
    req.on('data', (c) => (sink.bytes += c.length));
    req.on('end', () => {
      sink.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${server.address().port}/v1/traces`;
  sink.close = () => new Promise((resolve) => server.close(resolve));
  return sink;
}

async function main() {
  S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service']);
  const ident = S.runIdentity(BENCH);
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${opts.connections} connections x window ${opts.window}, ${opts.workers} load workers, phases ${opts.phases} of ${opts.seconds} s`);
  const traces = opts.traceRatio >= 0 ? await traceSink() : null;
  const tracingEnv = traces ? { OPAMP_TRACING_OTLP_ENDPOINT: traces.url, OPAMP_TRACING_SAMPLE_RATIO: String(opts.traceRatio) } : {};
  if (traces) S.onCleanup(() => traces.close());
  const { ingest, config } = await S.startWorkers(BENCH, ident, { apiPort, grpcPort: apiPort + 1, ingestEnv: tracingEnv, configEnv: tracingEnv });
  const [gw] = await S.startGateways(BENCH, ident, 1, { basePort: opts.basePort, extraEnv: { OPAMP_MAX_PENDING_INBOUND: '1000000', ...tracingEnv } });
  const lag = await S.lagProbe(ident.ingestGroup);
  S.onCleanup(() => lag.close());
  const pg = new Client({ connectionString: ident.databaseUrl });
  await pg.connect();
  S.onCleanup(() => pg.end());
  const rowWrites = async () => {
    const r = await pg.query(`SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS w FROM pg_stat_user_tables`);
    const by = {};
    let total = 0;
    for (const row of r.rows) {
      by[row.relname] = Number(row.w);
      total += Number(row.w);
    }
    return { total, by };
  };

  const workers = [];
  const reports = new Map();
  const infra = infraPids();
  const sampler = new Sampler(
    {
      gateway: () => [gw.pid],
      'status-ingest': () => [ingest.pid],
      'config-service': () => [config.pid],
      'load-workers': () => workers.map((w) => w.pid),
      kafka: () => infra.kafka,
      redis: () => infra.redis,
      postgres: () => infraPids().postgres,
      'bench-orchestrator': () => [process.pid],
    },
    1_000,
  );
  const others = await topOthers([gw, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  for (let w = 0; w < opts.workers; w++) {
    const count = Math.floor(opts.connections / opts.workers) + (w < opts.connections % opts.workers ? 1 : 0);
    const child = fork(
      path.join(__dirname, 'lib', 'ingest-flood-worker.js'),
      [JSON.stringify({ worker: w, runId: ident.id, url: `ws://127.0.0.1:${gw.port}/v1/opamp`, token: ident.agentToken, localAddress: `127.0.0.${2 + w}`, count, ratePerSecond: 1_000 / opts.workers, window: opts.window })],
      { cwd: S.repo, execArgv: ['-r', path.join(S.repo, 'dist/out-tsc/register-aliases.js')] },
    );
    child.on('message', (r) => reports.set(r.worker, r));
    S.children.add(child);
    workers.push(child);
  }
  const total = (k) => [...reports.values()].reduce((n, r) => n + r[k], 0);
  const poll = async () => {
    for (const w of workers) w.send('report');
    await S.sleep(300);
  };
  await S.waitUntil('load agents connected', async () => {
    await poll();
    return total('connected') >= opts.connections;
  }, 120_000, 500);
  console.log(`${total('connected')} agents connected; waiting for their first messages to be ingested`);
  await S.waitUntil('ingest caught up', async () => (await lag.read()).lag === 0, 120_000, 500);
  await S.sleep(3_000);

  const readAll = async () => {
    await poll();
    const [k, rows] = await Promise.all([lag.read(), rowWrites()]);
    return {
      t: Date.now(),
      gatewayIn: await S.metric(gw.adminPort, 'opamp_gateway_messages_in_total'),
      gatewayDurable: await S.metric(gw.adminPort, 'opamp_gateway_inbound_produce_seconds_count'),
      produceFailures: await S.metric(gw.adminPort, 'opamp_gateway_inbound_produce_failures_total'),
      rejected: await S.metric(gw.adminPort, 'opamp_gateway_rejections_total'),
      topicEnd: k.end,
      committed: k.committed,
      lag: k.lag,
      rows: rows.total,
      rowsBy: rows.by,
      sentHeartbeat: total('sentHeartbeat'),
      sentStatus: total('sentStatus'),
      replies: total('replies'),
    };
  };
  const rate = (a, b, key) => Math.round((b[key] - a[key]) / ((b.t - a.t) / 1000));

  const phases = {};
  for (const kind of opts.phases.split(',')) {
    console.log(`\nphase ${kind}: flooding for ${opts.seconds} s`);
    sampler.resetPeaks();
    const p0 = await readAll();
    sampler.mark(`${kind}:0`);
    for (const w of workers) w.send({ cmd: 'flood', kind, statusFraction: opts.statusFraction });
    const series = [];
    let prev = p0;
    while (Date.now() - p0.t < opts.seconds * 1000) {
      await S.sleep(2_000);
      const p = await readAll();
      const line = { tS: Math.round((p.t - p0.t) / 1000), producedPerS: rate(prev, p, 'gatewayDurable'), ingestedPerS: rate(prev, p, 'committed'), rowWritesPerS: rate(prev, p, 'rows'), lag: p.lag };
      series.push(line);
      console.log(`  [${String(line.tS).padStart(3)}s] produced ${line.producedPerS}/s  ingested ${line.ingestedPerS}/s  row writes ${line.rowWritesPerS}/s  lag ${line.lag}  CPU% ${JSON.stringify(sampler.window(`${kind}:0`, `${kind}:0`) && '')}`.replace('  CPU% ""', ''));
      prev = p;
    }
    for (const w of workers) w.send({ cmd: 'pause' });
    const p1 = await readAll();
    sampler.mark(`${kind}:1`);
    const flood = sampler.window(`${kind}:0`, `${kind}:1`);
    console.log(`  flood CPU% ${JSON.stringify(flood.cpuPercent)} machine ${flood.machineBusyPercent}% (others ${flood.otherProcessesCpuPercent}%)`);
    // Drain: how long until status-ingest has consumed everything produced.
    const d0 = Date.now();
    let p2 = p1;
    while (p2.lag > 0 && Date.now() - d0 < opts.drainTimeoutS * 1000) {
      await S.sleep(1_000);
      p2 = await readAll();
      process.stdout.write(`\r  draining: lag ${p2.lag}   `);
    }
    await S.sleep(1_500); // PostgreSQL statistics are flushed about once a second
    p2 = await readAll();
    sampler.mark(`${kind}:2`);
    const drainS = (p2.t - d0) / 1000;
    const secs = (p1.t - p0.t) / 1000;
    const consumedTotal = p2.committed - p0.committed;
    const rowsTotal = p2.rows - p0.rows;
    const whole = sampler.window(`${kind}:0`, `${kind}:2`);
    const res = {
      floodSeconds: +secs.toFixed(1),
      sent: { heartbeats: p1.sentHeartbeat - p0.sentHeartbeat, statusChanges: p1.sentStatus - p0.sentStatus },
      producedPerS: rate(p0, p1, 'gatewayDurable'),
      gatewayInPerS: rate(p0, p1, 'gatewayIn'),
      topicEndPerS: rate(p0, p1, 'topicEnd'),
      ingestedPerSDuringFlood: rate(p0, p1, 'committed'),
      lagAtEndOfFlood: p1.lag,
      drainSeconds: +drainS.toFixed(1),
      lagAfterDrain: p2.lag,
      ingestedPerSOverall: Math.round(consumedTotal / ((p2.t - p0.t) / 1000)),
      rowWrites: rowsTotal,
      rowWritesPerSOverall: Math.round(rowsTotal / ((p2.t - p0.t) / 1000)),
      rowWritesPerStatusChange: p1.sentStatus - p0.sentStatus > 0 ? +(rowsTotal / (p1.sentStatus - p0.sentStatus)).toFixed(3) : null,
      rowWritesByTable: Object.fromEntries(Object.entries(p2.rowsBy).map(([t, n]) => [t, n - (p0.rowsBy[t] || 0)]).filter(([, n]) => n > 0)),
      produceFailures: p2.produceFailures - p0.produceFailures,
      rejections: p2.rejected - p0.rejected,
      resourcesDuringFlood: { ...flood, ...sampler.peaks() },
      resourcesFloodAndDrain: whole,
      series,
    };
    res.bottleneck = bottleneck(res, flood);
    res.cpuCost = cpuCost(res, whole);
    phases[kind] = res;
    console.log(`\n  ${kind}: produced ${res.producedPerS}/s, ingested ${res.ingestedPerSDuringFlood}/s during the flood (${res.ingestedPerSOverall}/s overall incl. ${res.drainSeconds} s drain), row writes ${res.rowWritesPerSOverall}/s; bottleneck: ${res.bottleneck}`);
    await S.sleep(3_000);
  }

  for (const w of workers) w.send('stop');
  sampler.stop();
  const result = {
    parameters: {
      mode: 'distributed',
      gateways: 1,
      statusIngest: 1,
      configService: 1,
      connections: opts.connections,
      windowPerConnection: opts.window,
      loadWorkers: opts.workers,
      secondsPerPhase: opts.seconds,
      statusFractionInMix: opts.statusFraction,
      statusChange: 'health flips (healthy <-> degraded, status text, status time)',
      ingestPartitionConcurrency: 'app default (OPAMP_INGEST_PARTITION_CONCURRENCY=4)',
      pgPoolMax: 'app default (10)',
      infra: 'Kafka, Redis, PostgreSQL of deploy/infra/infra.sh on the same machine',
      tracing: traces ? { sampleRatio: opts.traceRatio, exportRequests: traces.requests, exportBytes: traces.bytes } : 'off',
    },
    otherBusyProcessesAtStart: others,
    phases,
    issue4Target: {
      target: '>= 10,000 inbound msg/s in one status-ingest with 90 % heartbeats / 10 % status changes; row writes/s <= real changes/s',
      mixIngestedPerS: phases.mix?.ingestedPerSOverall ?? null,
      met: phases.mix ? phases.mix.ingestedPerSOverall >= 10_000 && phases.mix.rowWrites <= phases.mix.sent.statusChanges : null,
    },
  };
  const file = writeResult(traces ? `${BENCH}-traced-${opts.traceRatio}` : BENCH, result);
  console.log(`\nwritten to ${path.relative(S.repo, file)}`);
  await lag.close();
  await pg.end();
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

/**
 * Where the flood stopped. status-ingest is the bottleneck only if it could not
 * keep up (a backlog of more than 5 s of production at the end, or a drain of
 * more than 10 s); otherwise the producing side (gateway, load generator) or the
 * machine's CPU limits. CPU cost per 1,000 msg/s per process says what each
 * part would sustain on one core of its own.
 */
function bottleneck(res, w) {
  const cpu = w.cpuPercent;
  const parts = [];
  const behind = res.lagAtEndOfFlood > res.producedPerS * 5 || res.drainSeconds > 10 || res.lagAfterDrain > 0;
  if (behind) {
    parts.push(`status-ingest fell behind (lag ${res.lagAtEndOfFlood} at the end of the flood, drain ${res.drainSeconds} s)`);
    if (cpu['status-ingest'] >= 85) parts.push(`status-ingest CPU ${cpu['status-ingest']}% (its one event loop is full)`);
    else parts.push(`status-ingest CPU only ${cpu['status-ingest']}%: it waits on round trips (batch -> PostgreSQL -> events -> commit), not on CPU`);
    if (cpu.postgres >= 60) parts.push(`PostgreSQL CPU ${cpu.postgres}%`);
  } else {
    parts.push(`status-ingest kept up (drained in ${res.drainSeconds} s at ${cpu['status-ingest']}% CPU)`);
  }
  const busiest = Object.entries(cpu).sort((a, b) => b[1] - a[1]);
  if (w.machineBusyPercent >= 180) {
    parts.push(`the machine's 2 cores were saturated (${w.machineBusyPercent}% of one core; busiest: ${busiest.slice(0, 3).map(([k, v]) => `${k} ${v}%`).join(', ')}; other processes ${w.otherProcessesCpuPercent}%), so the end-to-end rate is CPU-bound on the box, the gateway taking the largest share`);
  } else if (!behind) {
    parts.push(`producing side: gateway ${cpu.gateway}%, load workers ${cpu['load-workers']}%, Kafka ${cpu.kafka}%`);
  }
  return parts.join('; ');
}

/** CPU% per 1,000 msg/s for each process kind, and the msg/s one full core would give it. */
function cpuCost(res, w) {
  const out = {};
  const rate = res.ingestedPerSOverall || res.producedPerS;
  for (const [k, v] of Object.entries(w.cpuPercent)) {
    if (!(rate > 0) || !(v > 0)) continue;
    const per1k = v / (rate / 1000);
    out[k] = { cpuPercentPer1kMsgPerS: +per1k.toFixed(2), msgPerSOnOneCore: Math.round((100 / per1k) * 1000) };
  }
  return out;
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
