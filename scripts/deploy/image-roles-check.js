#!/usr/bin/env node
// The image's launcher and health check (deploy/image) on the built tree
// (dist/out-tsc), as the container runs them, on the real PostgreSQL, Redis
// and Kafka of `npm run infra:up` (OPAMP_TEST_DATABASE_URL etc. override):
//   - an unknown role exits 64 and lists the roles;
//   - `migrate` applies every migration to a new database, then finds the
//     schema current; a database it cannot reach makes it exit non-zero;
//   - `gateway` becomes healthy by the health check, and unhealthy once it
//     drained and stopped on SIGTERM (exit 0).
// Part of `npm run test:deploy`; prints one line per check.
const { spawn, spawnSync } = require('child_process');
const net = require('net');
const path = require('path');
const { Client } = require('pg');

const REPO = path.join(__dirname, '..', '..');
const LAUNCH = path.join(REPO, 'deploy', 'image', 'launch.js');
const HEALTH = path.join(REPO, 'deploy', 'image', 'healthcheck.js');
const adminUrl = process.env.OPAMP_TEST_DATABASE_URL || `postgres://opamp:opamp@127.0.0.1:${process.env.OPAMP_PG_PORT || '54320'}/opamp_test`;

let failed = 0;
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || !detail ? '' : `\n     ${detail.trim().split('\n').join('\n     ')}`}`);
  if (!ok) failed++;
}

function run(args, env = {}) {
  const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function until(what, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function migrate() {
  const db = `deploy_migrate_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${db}`;
    const env = { OPAMP_DATABASE_URL: url.toString() };
    const first = run([LAUNCH, 'migrate'], env);
    check('migrate: applies the migrations to a new database', first.status === 0 && /"applied migrations","migrations":\["0001_/.test(first.out), first.out);
    const second = run([LAUNCH], { ...env, OPAMP_ROLE: 'migrate' });
    check('migrate (OPAMP_ROLE): finds the schema current', second.status === 0 && second.out.includes('"schema is current"'), second.out);
    const probe = new Client({ connectionString: url.toString() });
    await probe.connect();
    const { rows } = await probe.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('agents', 'schema_migrations')");
    await probe.end();
    check('migrate: the tables exist', rows[0].n === 2, `found ${rows[0].n} of agents, schema_migrations`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.end();
  }
  const port = await freePort();
  const refused = run([LAUNCH, 'migrate'], { OPAMP_DATABASE_URL: `postgres://opamp:opamp@127.0.0.1:${port}/none` });
  check('migrate: an unreachable database exits non-zero and says why', refused.status === 1 && refused.out.includes('ECONNREFUSED'), refused.out);
}

async function gateway() {
  const env = {
    ...process.env,
    OPAMP_GATEWAY_PORT: String(await freePort()),
    OPAMP_GATEWAY_ADMIN_PORT: String(await freePort()),
    OPAMP_GATEWAY_ID: `deploy-check-${process.pid}`,
    OPAMP_DRAIN_WINDOW_MS: '300',
  };
  const child = spawn(process.execPath, [LAUNCH, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exit = null;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.once('exit', (code) => (exit = code));
  try {
    const health = () => spawnSync(process.execPath, [HEALTH, 'gateway'], { env, encoding: 'utf8' });
    await until('the gateway to be healthy', () => exit === null && health().status === 0, 60_000);
    check('gateway: healthy by the health check (admin /readyz)', true);
    child.kill('SIGTERM');
    await until('the gateway to stop', () => exit !== null, 30_000);
    check('gateway: drains and exits 0 on SIGTERM', exit === 0 && out.includes('"draining"'), out);
    const after = health();
    check('gateway: unhealthy once stopped', after.status === 1 && after.stderr.includes('/readyz'), after.stderr);
  } finally {
    if (exit === null) child.kill('SIGKILL');
  }
}

async function main() {
  const unknown = run([LAUNCH, 'no-such-role']);
  check('an unknown role exits 64 and lists the roles', unknown.status === 64 && unknown.out.includes('gateway | status-ingest | config-service | fleet-server | migrate'), unknown.out);
  await migrate();
  await gateway();
  console.log(`image roles: ${failed === 0 ? 'all checks passed' : `${failed} failed`}`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`image-roles-check: ${err.message}`);
    process.exit(1);
  },
);
