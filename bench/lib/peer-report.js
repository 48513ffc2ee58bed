// The Markdown record of bench/embedded-vs-peer.bench.js: one file a day,
// one section per fleet size (a rerun of a size replaces its section), every
// figure beside the peer's and as a ratio to it. No paths of this machine.
const fs = require('fs');

const s = (ms) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const n = (x, unit = '') => (x === null || x === undefined ? '–' : `${x}${unit}`);
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(1)}x`);

function renderMarkdown(N, r) {
  const p = r.peer;
  const e = r.embedded;
  const env = r.environment;
  const row = (what, pv, ev, pf, ef = pf) => `| ${what} | ${pf(pv)} | ${ef(ev)} | ${ratio(ev, pv)} |`;
  const others = (list) => (list?.length ? list.map((o) => `${o.cpuPercent} % ${o.cmd}`).join('; ') : 'none above 2 % of a core');
  const lines = [
    `## ${N.toLocaleString('en-US')} agents`,
    '',
    `Machine: ${env.nproc} cores (\`nproc\`) ${env.cpuModel}, ${env.memoryGiB} GiB, ${env.platform}, Node ${env.node}, ${env.go}; load average at start ${env.loadAverage.join(' / ')}.`,
    `Swarm: ${N.toLocaleString('en-US')} opamp-go WebSocket agents, heartbeats every ${r.options.heartbeatS} s, started at ${r.options.ramp}/s, ${Math.ceil(N / r.options.perProcess)} process(es). Peer first, then the embedded server, in one run.`,
    '',
    '| | in-memory Go peer | embedded (`npm start`) | embedded / peer |',
    '|---|---|---|---|',
    row('all agents listed by the API, from the swarm start', p.connect.allListedMs, e.connect.allListedMs, s),
    row('… of which after the last agent connected', p.connect.allListedMs - p.connect.swarmAllConnectedMs, e.connect.allListedMs - e.connect.swarmAllConnectedMs, s),
    row('one configuration change: all APPLIED (agents)', p.change.allAppliedMs, e.change.allAppliedMs, s),
    row('one configuration change: the API all in sync', p.change.apiAllInSyncMs, e.change.apiAllInSyncMs, s),
    row('server CPU for that change', p.change.cpuSeconds, e.change.cpuSeconds, (x) => n(x, ' CPU-s')),
    row('server CPU per 1,000 heartbeats/s (idle fleet)', p.idle.cpuPercentPer1000HeartbeatsPerS, e.idle.cpuPercentPer1000HeartbeatsPerS, (x) => n(x, ' % of a core')),
    row('server RSS per agent (whole server / agents)', p.idle.rssPerAgentKiB, e.idle.rssPerAgentKiB, (x) => n(x, ' KiB')),
    row('server RSS growth per agent (over the empty server)', p.idle.rssGrowthPerAgentKiB, e.idle.rssGrowthPerAgentKiB, (x) => n(x, ' KiB')),
    row('REST p99 during the connect', p.connect.rest.p99Ms, e.connect.rest.p99Ms, (x) => n(x, ' ms')),
    row('REST p99 during the change', p.change.rest.p99Ms, e.change.rest.p99Ms, (x) => n(x, ' ms')),
    row('REST p99 over the whole run', p.throughout.rest.p99Ms, e.throughout.rest.p99Ms, (x) => n(x, ' ms')),
    `| event-loop delay max: connect / idle / change | – | ${n(e.connect.loop?.maxMs)} / ${n(e.idle.loop?.maxMs)} / ${n(e.change.loop?.maxMs)} ms | |`,
    '',
    `Details: heartbeats counted by the servers ${p.idle.heartbeatsPerS}/s (peer) and ${e.idle.heartbeatsPerS}/s (embedded) over ${e.idle.seconds} s; server CPU idle ${p.idle.serverCpuPercent} / ${e.idle.serverCpuPercent} % of a core (embedded: Node ${e.idle.window.cpuPercent.server} + PostgreSQL ${e.idle.window.cpuPercent['server-postgres']}); whole server RSS ${p.idle.rssMiB} / ${e.idle.rssMiB} MiB (embedded: Node RSS + PostgreSQL PSS; empty ${p.baselineRssMiB} / ${e.baselineRssMiB} MiB). ` +
      `Change: the call answered in ${p.change.callMs} / ${e.change.callMs} ms; embedded CPU during it Node ${e.change.window.cpuPercent.server} + PostgreSQL ${e.change.window.cpuPercent['server-postgres']} % of a core. ` +
      `First assignment (not compared): all APPLIED ${s(p.assign.allAppliedMs)} / ${s(e.assign.allAppliedMs)}, in sync ${s(p.assign.apiAllInSyncMs)} / ${s(e.assign.apiAllInSyncMs)}. ` +
      `REST probes (a page of 100 agents every 100 ms): ${p.throughout.rest.probes} / ${e.throughout.rest.probes}, failed ${p.throughout.rest.failed} / ${e.throughout.rest.failed}, max ${n(p.throughout.rest.maxMs)} / ${n(e.throughout.rest.maxMs)} ms. ` +
      `Event-loop delay p99 per second (embedded), median / max: connect ${n(e.connect.loop?.p99MedianMs)} / ${n(e.connect.loop?.p99MaxMs)} ms, change ${n(e.change.loop?.p99MedianMs)} / ${n(e.change.loop?.p99MaxMs)} ms; over the idle window (no API load) p99 ${n(e.idle.loop?.p99Ms)} ms. ` +
      `Swarm connect failures: ${p.swarmEnd.connectFailed} / ${e.swarmEnd.connectFailed}.`,
    '',
    `What else was running: at start ${others(r.otherBusyProcessesAtStart)}. Other processes' CPU (% of one core) during the peer's idle / change windows ${p.idle.window.otherProcessesCpuPercent} / ${p.change.window.otherProcessesCpuPercent}, the embedded server's ${e.idle.window.otherProcessesCpuPercent} / ${e.change.window.otherProcessesCpuPercent} (the swarm is counted apart: ${p.change.window.cpuPercent.swarm} / ${e.change.window.cpuPercent.swarm} during the changes).`,
  ];
  for (const [what, prof] of [
    ['the change', e.changeProfile],
    ['the idle window', e.idleProfile],
    ['the connect', e.connectProfile],
  ]) {
    if (prof?.topFunctions) {
      lines.push('', `Embedded server (Node) CPU profile during ${what} (${prof.sampledMs} ms sampled of ${prof.windowMs} ms, 10 ms sampling), self time:`, '');
      lines.push('| module | ms | % |', '|---|---|---|', ...prof.topModules.slice(0, 8).map((m) => `| ${m.name} | ${m.ms} | ${m.percent} |`));
      const from = (f) => (f.calledFrom ? ` (from ${f.calledFrom.map((c) => `\`${c.name}\` ${c.percent} %`).join(', ')})` : '');
      lines.push('', '| function | ms | % |', '|---|---|---|', ...prof.topFunctions.slice(0, 10).map((f) => `| \`${f.name}\`${from(f)} | ${f.ms} | ${f.percent} |`));
    } else if (prof?.error) lines.push('', `CPU profile of ${what}: ${prof.error}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Puts `section` into the day's file, replacing an earlier section of the same size. */
function writeMarkdownSection(file, N, section) {
  const head = `# Embedded server vs the in-memory opamp-go peer\n\n\`npm run bench:peer\` (bench/embedded-vs-peer.bench.js; bench/README.md says what each figure is). The figures are a baseline: nothing was optimised for them.\n\n`;
  const sections = new Map();
  if (fs.existsSync(file)) {
    const parts = fs.readFileSync(file, 'utf8').split(/^(?=## )/m).slice(1);
    for (const part of parts) sections.set(Number(/^## ([\d,]+)/.exec(part)?.[1].replace(/,/g, '')), part.trimEnd() + '\n');
  }
  sections.set(N, section);
  const body = [...sections.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v).join('\n');
  fs.writeFileSync(file, head + body);
  return file;
}

module.exports = { renderMarkdown, writeMarkdownSection };
