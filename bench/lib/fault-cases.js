// The fault suite's cases (issue 21 item 4): each `inject(ctx)` does its fault
// and undoes it, resolving with when the fault began and when it was undone
// (the restart done, the service started, the process continued). `ctx`
// holds the running stack (bench/fault-suite.bench.js): gateways, ingest,
// config-services, the suite's own infra, the durations.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** kill -9 an app process, then start it again the way it was started. */
async function killAndRestart(ctx, role) {
  const began = Date.now();
  await ctx.kill(role);
  const restoredAt = Date.now();
  await ctx.restart(role);
  return { began, restoredAt, readyAt: Date.now() };
}

/** Stop one of the suite's own infrastructure services for `stopS` seconds, then start it. */
async function stopService(ctx, svc) {
  const began = Date.now();
  await ctx.infra.stop(svc);
  await sleep(ctx.opts.stopS * 1000);
  const restoredAt = Date.now();
  try {
    await ctx.infra.start(svc);
  } catch (err) {
    // infra.sh waits 90 s; a starved JVM can take longer: it is still starting, wait for it (at most 5 min).
    console.log(`${svc} not answering after its start (${String(err.message).split('\n')[0]}); waiting for it`);
    const deadline = Date.now() + 300_000;
    while (!(await ctx.infra.status())) {
      if (Date.now() > deadline) throw err;
      await sleep(2_000);
    }
  }
  return { began, restoredAt, readyAt: Date.now() };
}

const CASES = {
  /** No fault: the rollout every case is compared with. */
  baseline: { what: 'no fault (the reference rollout)', inject: async () => ({ began: Date.now(), restoredAt: Date.now(), readyAt: Date.now() }) },
  'gateway-kill': { what: 'kill -9 gateway 0 of 2, restart it', inject: (ctx) => killAndRestart(ctx, 'gateway-0') },
  'ingest-kill': { what: 'kill -9 the status-ingest, restart it', inject: (ctx) => killAndRestart(ctx, 'status-ingest') },
  'config-kill': { what: 'kill -9 the config-service driving the rollout (of 2), restart it', inject: (ctx) => killAndRestart(ctx, ctx.driverRole()) },
  'kafka-stop': { what: 'stop Kafka for stopS, start it', inject: (ctx) => stopService(ctx, 'kafka') },
  'redis-stop': { what: 'stop Redis for stopS, start it', inject: (ctx) => stopService(ctx, 'redis') },
  'postgres-stop': { what: 'stop PostgreSQL for stopS, start it', inject: (ctx) => stopService(ctx, 'postgres') },
  'gateway-freeze': {
    what: 'SIGSTOP gateway 0 for freezeS (its connection leases, 90 s, may expire while it lives), SIGCONT',
    async inject(ctx) {
      const gw = ctx.app('gateway-0');
      const began = Date.now();
      process.kill(gw.pid, 'SIGSTOP');
      await sleep(ctx.opts.freezeS * 1000);
      const restoredAt = Date.now();
      process.kill(gw.pid, 'SIGCONT');
      return { began, restoredAt, readyAt: Date.now() };
    },
  },
};

module.exports = { CASES };
