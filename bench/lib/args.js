// `--name=value` / `--name value` / `--flag` command-line options with defaults,
// and `--help` printing the defaults.
function parseArgs(defaults, usage) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(`${usage}\n\noptions (defaults):`);
      for (const [k, v] of Object.entries(defaults)) console.log(`  --${k}=${v}`);
      process.exit(0);
    }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a} (use --name=value; --help)`);
    const key = m[1];
    if (!(key in defaults)) throw new Error(`unknown option --${key} (--help lists them)`);
    let value = m[2];
    if (value === undefined) {
      if (typeof defaults[key] === 'boolean') value = 'true';
      else value = argv[++i];
    }
    const d = defaults[key];
    out[key] = typeof d === 'number' ? Number(value) : typeof d === 'boolean' ? value !== 'false' : value;
    if (typeof d === 'number' && !Number.isFinite(out[key])) throw new Error(`--${key} must be a number`);
  }
  return out;
}

module.exports = { parseArgs };
