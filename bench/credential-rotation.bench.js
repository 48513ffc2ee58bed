// Credential rotation benchmark (issue 14 item 6), on demand, never in CI.
//
// Distributed mode on this machine: Kafka, Redis, PostgreSQL (already running;
// --infraUp runs infra.sh up first), one status-ingest, one config-service with a
// credential key and a public OpAMP URL, G gateways, and a swarm of A WebSocket
// agents over several worker processes and 127.0.0.N source addresses, each
// following connection settings offers like the OpAMP supervisor
// (--follow-connection-settings of the swarm). The public URL names one
// load-balanced address; the agents resolve it onto the gateways by instance
// uid, as DNS round robin would (agent-sim endpointAliases), so no single
// gateway takes the fleet.
//
//   phase "enroll": every agent connects with the tenant's enrollment token, is
//     offered a credential of its own, reconnects with it (ACTIVE);
//   phase "rotate": POST /agent-credentials:rotate with one selector naming the
//     whole run; every agent is offered a new credential and switches to it
//     (new ACTIVE, old SUPERSEDED).
//
// Per phase: time until every agent is on its credential (PostgreSQL
// agent_credentials states, polled every second), refused connections at the
// gateways (opamp_gateway_rejections_total by reason: unauthorized = 401,
// credential refusals, duplicates) and the swarm's errors, reconnects with new
// settings per second (peak, from the swarm's APPLIED / FAILED counts), CPU and
// RSS per process kind, Redis commands/s and memory (INFO; Redis is shared with
// whatever else runs), PostgreSQL writes (rows and commits).
//
//   node -r ./dist/out-tsc/register-aliases.js bench/credential-rotation.bench.js [--agents=10000] [--help]
//
// Writes bench/results/credential-rotation-<agents>.json.
const S = require('./lib/stack');
const { rotationPhase, postLong } = require('./lib/rotation-bench');
const { PUBLIC_HOST, rotationOptions, startRotationStack, connectRotationStores, rotationSampler, startEnrollingSwarm, commonParameters, finishRotationRun } = require('./lib/rotation-run');

const opts = rotationOptions(15100, 'credential rotation: A agents enroll onto their own credentials, then one selector rotates them all; time, refusals, load');
const BENCH = 'credential-rotation';

/** The run tenant's credentials by state. */
async function credentialStates(pg, tenant) {
  const { rows } = await pg.query(`SELECT state, count(*)::int AS n FROM agent_credentials WHERE tenant_id = $1 GROUP BY state`, [tenant]);
  const out = { offered: 0, active: 0, superseded: 0, revoked: 0, expired: 0 };
  for (const r of rows) out[r.state] = r.n;
  return out;
}

async function main() {
  const run = await startRotationStack(BENCH, opts, { publicScheme: 'http' });
  const { A, gws, ident, apiPort } = run;
  const { formatSummary } = require('@opamp/swarm');
  const stores = await connectRotationStores(run);
  const { sampler, others } = await rotationSampler(run);

  let swarm;
  const ctx = {
    opts,
    agents: A,
    gws,
    sampler,
    redis: stores.redis,
    databaseUrl: ident.databaseUrl,
    states: () => credentialStates(stores.pg, ident.tenant),
    swarm: () => swarm,
  };
  const phase = (name, start, done) => rotationPhase(ctx, name, start, done);
  const phases = {};
  phases.enroll = await phase(
    'enroll',
    async () => {
      swarm = await startEnrollingSwarm(run, gws.map((g) => `127.0.0.1:${g.port}`));
      return { swarmStarted: A };
    },
    (s) => s.active >= A && s.offered === 0,
  );

  await S.sleep(5_000);
  phases.rotate = await phase(
    'rotate',
    () => postLong(apiPort, '/api/v1/agent-credentials:rotate', ident.adminToken, { selector: `bench.run=${ident.id}` }),
    (s) => s.active >= A && s.superseded >= A && s.offered === 0,
  );

  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();
  const rotate = phases.rotate;
  const result = {
    parameters: {
      ...commonParameters(run, report),
      publicOpampUrl: `a load-balanced name resolved by each agent onto one of the ${run.nGateways} gateways (by instance uid)`,
      selector: 'all agents of the run (bench.run label)',
      infra: 'Kafka, Redis, PostgreSQL already running on the same machine (shared); the run on Redis database ' + opts.redisDb,
      sharedMachine: opts.sharedMachine ? 'other work (other helpers builds and tests) shared the 2 cores during the run' : 'quiet machine',
    },
    otherBusyProcessesAtStart: others,
    phases,
    swarm: { connectLatencyMs: report.connectLatencyMs, reconnectLatencyMs: report.reconnectLatencyMs, errors: report.errors, errorSamples: report.errorSamples, connectionSettings: report.connectionSettings },
    target: {
      issue14: 'every agent on its new credential within 2 minutes, zero refused connections of well-behaved agents',
      met: rotate.allOnTheirCredentialMs !== null && rotate.allOnTheirCredentialMs <= 120_000 && Object.keys(rotate.refusedAtGateways).length === 0 && Object.keys(rotate.swarmErrors).length === 0,
    },
  };
  await finishRotationRun(run, stores, result, (v) => ({ apiCallMs: v.apiCallMs, allOnTheirCredentialMs: v.allOnTheirCredentialMs, refused: v.refusedAtGateways, swarmErrors: v.swarmErrors, peakReconnectsPerS: v.peakReconnectsWithNewSettingsPerS, cpuPercent: v.resources.cpuPercent, redis: v.redis, postgresWrites: v.postgresWrites }));
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
