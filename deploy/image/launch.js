// Entry point of the one image: `launch.js <role>` (or OPAMP_ROLE) runs that
// app in this very process, so node stays PID 1 and SIGTERM reaches the app's
// own handlers (the gateway drains, the workers finish their batch).
const path = require('path');
const { DIST, ROLES, roleOf } = require('./roles');

const role = roleOf(process.argv.slice(2), process.env);
const entry = ROLES[role];
if (!entry) {
  process.stderr.write(`usage: <image> ${Object.keys(ROLES).join(' | ')} (or set OPAMP_ROLE); got "${role}"\n`);
  process.exit(64);
}
require(path.join(DIST, 'register-aliases.js'));
require(entry.main);
