// Completes a `tsc` build of an app: tsc emits only what it compiles, so this
// copies what the runtime also needs into dist/out-tsc: the generated protobuf
// code, the SQL migrations, the .proto files (config-service loads
// proto/fleet/v1 at run time, found by walking up from its own directory, so a
// dist tree copied away from the repo still finds them) and the alias resolver.
const fs = require('fs');
const path = require('path');

const repo = path.join(__dirname, '..', '..');
const out = path.join(repo, 'dist', 'out-tsc');
const copies = [
  ['libs/protocol/src/generated', 'libs/protocol/src/generated'],
  ['libs/contracts/src/generated', 'libs/contracts/src/generated'],
  ['libs/store/migrations', 'libs/store/migrations'],
  ['proto', 'proto'],
  ['tools/runtime/register-aliases.js', 'register-aliases.js'],
];
for (const [from, to] of copies) {
  const src = path.join(repo, from);
  if (!fs.existsSync(src)) continue;
  fs.cpSync(src, path.join(out, to), { recursive: true });
  // A file renamed or removed in the source must not live on in dist (the migrator would apply
  // a stale migration). Pruned after copying rather than wiping first: app builds run in
  // parallel and may run this at the same time.
  prune(src, path.join(out, to));
}

function prune(src, dest) {
  if (!fs.statSync(src).isDirectory() || !fs.existsSync(dest)) return;
  for (const name of fs.readdirSync(dest)) {
    const from = path.join(src, name);
    const to = path.join(dest, name);
    if (!fs.existsSync(from)) fs.rmSync(to, { recursive: true, force: true });
    else prune(from, to);
  }
}

// The web console (apps/console, built into dist/console by console:build, which
// the apps' builds depend on) goes along too, so a dist/out-tsc shipped alone
// (deploy/Dockerfile) still serves it. Replaced whole: no stale assets.
const consoleBuild = path.join(repo, 'dist', 'console');
const consoleCopy = path.join(out, 'console');
if (fs.existsSync(path.join(consoleBuild, 'index.html'))) {
  fs.rmSync(consoleCopy, { recursive: true, force: true });
  fs.cpSync(consoleBuild, consoleCopy, { recursive: true, filter: (src) => !src.endsWith('.map') });
}
