// Fails when the Nx project graph breaks the layering of ARCHITECTURE.md:
// an app may depend on libs only, and a lib never on an app.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const out = path.join(__dirname, '..', 'tmp', 'project-graph.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
execFileSync('npx', ['nx', 'graph', `--file=${out}`], { stdio: 'ignore' });
const { graph } = JSON.parse(fs.readFileSync(out, 'utf8'));

const type = (name) => graph.nodes[name]?.type;
const problems = [];
let edges = 0;
for (const [source, deps] of Object.entries(graph.dependencies)) {
  for (const { target } of deps) {
    if (!graph.nodes[target]) continue; // npm packages
    edges++;
    if (type(target) === 'app') problems.push(`${source} (${type(source)}) depends on app ${target}`);
  }
}
const apps = Object.keys(graph.nodes).filter((n) => type(n) === 'app');
if (apps.length === 0 || edges === 0) problems.push('project graph looks empty');
if (problems.length > 0) {
  console.error(`project graph: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`project graph: ${apps.length} apps, ${edges} project dependencies, apps depend on libs only`);
