// The fault suite's checks, as pure functions over what was observed after a
// case (the swarm's counters, the API's listings): each returns
// { check, ok, detail } and never throws, so a report shows every check of
// every case. bench/fault-suite.bench.js gathers the observations.

const APPLIED = 'REMOTE_CONFIG_STATUS_APPLIED';
const COMPLETED = 'ROLLOUT_STATE_COMPLETED';
const PASSED = 'ROLLOUT_BATCH_STATE_PASSED';
const AGENT_APPLIED = 'ROLLOUT_AGENT_PHASE_APPLIED';

const result = (check, ok, detail) => ({ check, ok, detail });
const few = (list, n = 5) => list.slice(0, n).join(', ') + (list.length > n ? ` (+${list.length - n} more)` : '');

/** Every agent connected: as the swarm sees it and as the API lists it. */
function checkConnected({ agents, swarmConnected, apiConnected }) {
  const ok = swarmConnected === agents && apiConnected === agents;
  return result('connected', ok, `swarm ${swarmConnected}/${agents}, API ${apiConnected}/${agents}`);
}

/** Every agent in sync with its desired config: the API shows it APPLIED with the desired hash, and the swarm agrees. */
function checkInSync({ agents, hash, apiAgents, swarmApplied }) {
  const off = apiAgents.filter((a) => !(a.inSync && a.desiredConfigHash === hash && a.remoteConfigStatus === APPLIED && a.remoteConfigHash === hash));
  const ok = apiAgents.length === agents && off.length === 0 && swarmApplied === agents;
  const detail = `API ${apiAgents.length - off.length}/${agents} APPLIED on ${hash.slice(0, 12)}, swarm ${swarmApplied}/${agents}`;
  return result('in-sync', ok, off.length ? `${detail}; not: ${few(off.map((a) => `${a.instanceUid} ${a.remoteConfigStatus} ${String(a.remoteConfigHash).slice(0, 8)}`))}` : detail);
}

/**
 * The rollout finished as without the fault: COMPLETED, every batch PASSED,
 * the same batch sizes as the fault-free baseline, and no failure, rollback
 * or pause among its events.
 */
function checkRolloutFinished({ rollout, events, baseline }) {
  const problems = [];
  if (rollout.state !== COMPLETED) problems.push(`state ${rollout.state} (${rollout.stateReason || 'no reason'})`);
  const notPassed = rollout.batches.filter((b) => b.state !== PASSED);
  if (notPassed.length) problems.push(`batches not passed: ${few(notPassed.map((b) => `${b.index}:${b.state}`))}`);
  const sizes = rollout.batches.map((b) => b.agents);
  if (baseline && JSON.stringify(sizes) !== JSON.stringify(baseline.batchSizes)) problems.push(`batch sizes ${sizes} vs baseline ${baseline.batchSizes}`);
  const bad = events.filter((e) => ['batch_failed', 'rollback_started', 'rolled_back', 'paused', 'aborted'].includes(e.type));
  if (bad.length) problems.push(`events: ${few(bad.map((e) => `${e.type}@${e.batchIndex}: ${e.message}`))}`);
  const started = events.filter((e) => e.type === 'batch_started').map((e) => e.batchIndex);
  if (new Set(started).size !== started.length) problems.push(`a batch started twice: ${started}`);
  return result('rollout-finished', problems.length === 0, problems.length ? problems.join('; ') : `COMPLETED, ${sizes.length} batches of ${sizes.join('/')}`);
}

/**
 * No agent processed twice by the rollout: every targeted agent is a member of
 * exactly one batch, moved once (APPLIED, not reverted), the batch counts add
 * up to the rollout's total, and no batch_started names a batch twice.
 */
function checkMovedOnce({ agents, rollout, members }) {
  const seen = new Map();
  for (const m of members) seen.set(m.instanceUid, (seen.get(m.instanceUid) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([u]) => u);
  const notApplied = members.filter((m) => m.phase !== AGENT_APPLIED || m.reverted);
  const perBatch = {};
  for (const m of members) perBatch[m.batchIndex] = (perBatch[m.batchIndex] ?? 0) + 1;
  const countMismatch = rollout.batches.filter((b) => (perBatch[b.index] ?? 0) !== b.agents);
  const problems = [];
  if (twice.length) problems.push(`in two batches: ${few(twice)}`);
  if (seen.size !== agents || rollout.totalAgents !== agents) problems.push(`members ${seen.size}, rollout total ${rollout.totalAgents}, agents ${agents}`);
  if (notApplied.length) problems.push(`not moved once: ${few(notApplied.map((m) => `${m.instanceUid} ${m.phase}${m.reverted ? ' reverted' : ''}`))}`);
  if (countMismatch.length) problems.push(`batch counts differ: ${few(countMismatch.map((b) => `${b.index}: ${perBatch[b.index] ?? 0} vs ${b.agents}`))}`);
  return result('moved-once', problems.length === 0, problems.length ? problems.join('; ') : `${seen.size} agents, each in one batch, APPLIED once`);
}

/**
 * No acknowledged status lost: for each agent, the status counter the API
 * shows is at least the last one the gateway acknowledged to the agent (and
 * never above what the agent sent).
 */
function checkStatusKept({ counters, apiCounters }) {
  const lost = [];
  const invented = [];
  let acked = 0;
  for (let i = 0; i < counters.uids.length; i++) {
    const uid = counters.uids[i];
    const shown = apiCounters.get(uid) ?? 0;
    acked += counters.acked[i];
    if (shown < counters.acked[i]) lost.push(`${uid}: acked #${counters.acked[i]}, API #${shown}`);
    if (shown > counters.current[i]) invented.push(`${uid}: sent #${counters.current[i]}, API #${shown}`);
  }
  const ok = lost.length === 0 && invented.length === 0;
  const detail = `${counters.uids.length} agents, ${acked} acknowledged statuses in all`;
  return result('status-kept', ok, ok ? detail : `${detail}; lost: ${lost.length} [${few(lost, 3)}]; above sent: ${invented.length} [${few(invented, 3)}]`);
}

module.exports = { checkConnected, checkInSync, checkRolloutFinished, checkMovedOnce, checkStatusKept };
