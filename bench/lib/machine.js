// What machine a benchmark ran on, for the result files.
const os = require('os');
const fs = require('fs');

function machine() {
  let kernel = os.release();
  try {
    kernel = fs.readFileSync('/proc/version', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel,
    hostname: os.hostname(),
  };
}

/** Resident set size (bytes) and CPU time (seconds) of a process, from procfs. */
function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / 100 };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Writes bench/results/<name>.json; with `markdown` (a body), also
 * <name>.md: a title, the machine it ran on and its load, then the body.
 */
function writeResult(name, result, markdown) {
  const dir = `${__dirname}/../results`;
  fs.mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const m = machine();
  const body = JSON.stringify({ benchmark: name, at, machine: m, ...result }, null, 2);
  fs.writeFileSync(`${dir}/${name}.json`, body + '\n');
  if (markdown !== undefined) {
    const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
    const head = [
      `# ${markdown.title ?? name}`,
      '',
      `Written ${at} by bench/${markdown.script ?? `${name}.bench.js`}; the figures are in \`${name}.json\`.`,
      '',
      `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average (1 / 5 / 15 min) when written: ${load}.`,
      '',
    ];
    fs.writeFileSync(`${dir}/${name}.md`, [...head, markdown.body.trim(), ''].join('\n'));
  }
  return `${dir}/${name}.json`;
}

module.exports = { machine, procStats, percentile, writeResult };
