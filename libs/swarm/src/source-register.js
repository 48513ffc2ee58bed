// Loads the swarm worker from TypeScript sources (when the orchestrator itself
// runs from sources, e.g. under jest): compiles on load with ts-node
// (transpile only) and resolves the workspace's `@opamp/<lib>` aliases to
// libs/<lib>/src/index.ts. Built output uses tools/runtime/register-aliases.js.
const Module = require('module');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..', '..');
require('ts-node').register({ transpileOnly: true, project: path.join(repo, 'libs', 'swarm', 'tsconfig.json') });

const original = Module._resolveFilename;
Module._resolveFilename = function resolveWorkspaceAlias(request, parent, isMain, options) {
  if (request.startsWith('@opamp/')) {
    const lib = request.slice('@opamp/'.length);
    return original.call(this, path.join(repo, 'libs', lib, 'src', 'index.ts'), parent, isMain, options);
  }
  return original.call(this, request, parent, isMain, options);
};
