// What the rotation benchmarks (credential-rotation, certificate-rotation) share:
// the long API call, the gateways' refusals, Redis figures and the run's own
// Redis database (the credential directory is one hash per database), and the
// watched phase (rotationPhase).
const http = require('http');
const S = require('./stack');
const { pgWriteCounters, pgWritesPerSecond } = require('./pg-writes');
const { tcpCounters, tcpCountersDelta } = require('./tcp-counters');

/**
 * POST on the API without a client-side timeout: the rotate call works through
 * every agent before it answers (fetch gives up after 300 s without headers).
 */
function postLong(port, urlPath, token, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`POST ${urlPath}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** opamp_gateway_rejections_total by reason, summed over the gateways. */
async function rejections(gws) {
  const out = {};
  for (const g of gws) {
    const text = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^opamp_gateway_rejections_total\{[^}]*reason="([^"]+)"[^}]*\} (\S+)/.exec(line);
      if (m) out[m[1]] = (out[m[1]] || 0) + Number(m[2]);
    }
  }
  return out;
}

function diff(after, before) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] || 0) > 0) out[k] = v - (before[k] || 0);
  return out;
}

/** Redis INFO: commands processed so far and memory in use. */
async function redisInfo(redis, db) {
  const text = await redis.info();
  const field = (name) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { atMs: Date.now(), commands: field('total_commands_processed'), usedMemoryBytes: field('used_memory'), keys: Number(new RegExp(`^db${db}:keys=(\\d+)`, 'm').exec(text)?.[1] ?? 0) };
}

/** Removes the run's keys from its Redis database: the tenant's keys and its entries of the directory and policy hashes. */
async function dropRedisKeys(redis, tenant) {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*{${tenant}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  for (const hash of ['opamp:agent-tokens', 'opamp:agent-policies']) {
    cursor = '0';
    do {
      const [next, flat] = await redis.hscan(hash, cursor, 'COUNT', 1000);
      cursor = next;
      const mine = [];
      for (let i = 0; i < flat.length; i += 2) if (flat[i + 1].startsWith(`${tenant}|`) || flat[i] === tenant) mine.push(flat[i]);
      if (mine.length > 0) removed += await redis.hdel(hash, ...mine);
    } while (cursor !== '0');
  }
  return removed;
}

/** The highest Redis database of 1..15 without keys. */
async function emptyRedisDb() {
  const Redis = require('ioredis');
  for (let db = 15; db >= 1; db--) {
    const r = new Redis(`${S.REDIS_URL.replace(/\/\d*$/, '')}/${db}`, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await r.connect();
    const n = await r.dbsize();
    await r.quit();
    if (n === 0) return db;
  }
  throw new Error('no empty Redis database in 1..15: pick one with --redisDb');
}

/** Keys of others in the run's Redis database (a sample), to warn that it is not the run's own. */
async function foreignKeys(redis, runMarker) {
  const [, keys] = await redis.scan('0', 'COUNT', 1000);
  return keys.filter((k) => !k.includes(runMarker) && !k.startsWith('opamp:agent-'));
}

/**
 * Runs one phase of a rotation benchmark and watches it: `states()` every second
 * (done when `done(states, progress)`), the swarm's APPLIED / FAILED per second,
 * and the phase's load. `ctx`: { opts, agents, gws, sampler, redis, databaseUrl,
 * states, swarm: () => the swarm once started, refusedElsewhere?: () => number }.
 */
async function rotationPhase(ctx, name, start, done) {
const { opts, sampler, redis, gws } = ctx;
const A = ctx.agents;
  sampler.resetPeaks();
  sampler.mark(`${name}:t0`);
  const rej0 = await rejections(gws);
  const hs0 = ctx.refusedElsewhere ? ctx.refusedElsewhere() : 0;
  const redis0 = await redisInfo(redis, opts.redisDb);
  const pg0 = await pgWriteCounters(ctx.databaseUrl);
  const p0 = ctx.swarm() ? ctx.swarm().progress() : undefined;
  const t0 = Date.now();
  // Watched from t0 on: the rotate call answers only after it has offered every agent.
  let started;
  let apiCallMs = null;
  let startError;
  const call = Promise.resolve()
    .then(start)
    .then(
      (r) => {
        started = r;
        apiCallMs = Date.now() - t0;
      },
      (err) => (startError = err),
    );
  const series = [];
  let states;
  let doneMs = null;
  let lastApplied = (p0?.connectionSettings.APPLIED ?? 0) + (p0?.connectionSettings.FAILED ?? 0);
  let lastAt = t0;
  let peakSwitchesPerS = 0;
  let settledMs = null;
  let unchangedSince = Date.now();
  let lastStates = '';
  const switched0 = lastApplied;
  const tcp0 = tcpCounters();
  while (Date.now() - t0 < opts.timeoutS * 1000) {
    await S.sleep(1_000);
    if (startError) throw startError;
    const swarm = ctx.swarm();
    if (!swarm) continue;
    states = await ctx.states();
    const p = swarm.progress();
    const switched = (p.connectionSettings.APPLIED ?? 0) + (p.connectionSettings.FAILED ?? 0);
    const now = Date.now();
    peakSwitchesPerS = Math.max(peakSwitchesPerS, ((switched - lastApplied) * 1000) / (now - lastAt));
    lastApplied = switched;
    lastAt = now;
    series.push({ tS: +((now - t0) / 1000).toFixed(1), ...states, connected: p.connected, switchedBySwarm: switched, apiCallDone: apiCallMs !== null });
    if (series.length % 5 === 0) console.log(`${name} +${((now - t0) / 1000).toFixed(0)}s: credentials ${JSON.stringify(states)}; ${require('@opamp/swarm').formatProgress(p)}`);
    if (done(states, p)) {
      doneMs = now - t0;
      break;
    }
    // Every agent took (APPLIED) or refused (FAILED, rolled back) the offer: what is still offered now waits.
    if (settledMs === null && apiCallMs !== null && switched - switched0 >= A) settledMs = now - t0;
    const key = JSON.stringify(states);
    if (key !== lastStates) {
      lastStates = key;
      unchangedSince = now;
    } else if (settledMs !== null && now - unchangedSince >= opts.stallS * 1000) {
      console.log(`${name}: every agent settled, credentials unchanged for ${opts.stallS} s: ${states.offered} offers not taken`);
      break;
    }
  }
  await call;
  if (startError) throw startError;
  sampler.mark(`${name}:done`);
  const rej1 = await rejections(gws);
  const redis1 = await redisInfo(redis, opts.redisDb);
  const pg1 = await pgWriteCounters(ctx.databaseUrl);
  const p1 = ctx.swarm().progress();
  const secs = (redis1.atMs - redis0.atMs) / 1000;
  const win = sampler.window(`${name}:t0`, `${name}:done`);
  const result = {
    apiCallMs,
    apiResponse: started,
    allOnTheirCredentialMs: doneMs,
    everyAgentSettledMs: doneMs ?? settledMs,
    offersNotTaken: states?.offered ?? null,
    gatewayEventLoopLagMaxS: await Promise.all(gws.map((g) => S.metric(g.adminPort, 'nodejs_eventloop_lag_max_seconds').catch(() => null))),
    credentialStates: states,
    refusedAtGateways: diff(rej1, rej0),
    ...(ctx.refusedElsewhere ? { refusedAtTerminators: ctx.refusedElsewhere() - hs0 } : {}),
    swarmErrors: diff(p1.errors, p0?.errors ?? {}),
    // Machine-wide kernel counters over the phase: accept queues that overflowed explain reconnect resets.
    tcpKernelCounters: tcpCountersDelta(tcp0, tcpCounters()),
    connectionSettingsOutcomes: diff(p1.connectionSettings, p0?.connectionSettings ?? {}),
    peakReconnectsWithNewSettingsPerS: Math.round(peakSwitchesPerS),
    resources: { ...win, ...sampler.peaks() },
    redis: {
      commandsPerS: +((redis1.commands - redis0.commands) / secs).toFixed(0),
      usedMemoryMiBBefore: +(redis0.usedMemoryBytes / 2 ** 20).toFixed(1),
      usedMemoryMiBAfter: +(redis1.usedMemoryBytes / 2 ** 20).toFixed(1),
      keysBefore: redis0.keys,
      keysAfter: redis1.keys,
    },
    postgresWrites: { ...pgWritesPerSecond(pg0, pg1), rowsWritten: pg1.rowsWritten - pg0.rowsWritten, commits: pg1.commits - pg0.commits },
    timeSeries: series,
  };
  console.log(`${name}: ${doneMs === null ? 'NOT done' : `done in ${(doneMs / 1000).toFixed(1)} s`}; credentials ${JSON.stringify(states)}; refused ${JSON.stringify(result.refusedAtGateways)}; swarm errors ${JSON.stringify(result.swarmErrors)}`);
  return result;
}

module.exports = { rotationPhase, postLong, rejections, diff, redisInfo, dropRedisKeys, emptyRedisDb, foreignKeys };
