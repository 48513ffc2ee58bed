// Docker HEALTHCHECK of the one image: asks the role's own health endpoint on
// 127.0.0.1 (exit 0 healthy, 1 not). Roles without one (migrate, status-ingest
// with its port off) count as healthy while they run.
const path = require('path');
const { DIST, ROLES, roleOf } = require('./roles');

const entry = ROLES[roleOf(process.argv.slice(2), process.env)];
if (!entry) {
  process.stderr.write('healthcheck: unknown role\n');
  process.exit(1);
}
require(path.join(DIST, 'register-aliases.js'));
const target = entry.health();
if (!target) process.exit(0);
const url = `http://127.0.0.1:${target.port}${target.path}`;
fetch(url, { signal: AbortSignal.timeout(4_000) }).then(
  (res) => {
    if (!res.ok) process.stderr.write(`healthcheck: ${url} answered ${res.status}\n`);
    process.exit(res.ok ? 0 : 1);
  },
  (err) => {
    process.stderr.write(`healthcheck: ${url}: ${err.message}\n`);
    process.exit(1);
  },
);
