// Resolves the workspace's `@opamp/<lib>` imports in built output, where the
// TypeScript path aliases no longer apply: `@opamp/x` -> <root>/libs/x/src/index.js.
// Loaded with `node -r` from the root of the built tree (dist/out-tsc).
const Module = require('module');
const path = require('path');

const root = __dirname;
const original = Module._resolveFilename;
Module._resolveFilename = function resolveWorkspaceAlias(request, parent, isMain, options) {
  if (request.startsWith('@opamp/')) {
    const lib = request.slice('@opamp/'.length);
    return original.call(this, path.join(root, 'libs', lib, 'src', 'index.js'), parent, isMain, options);
  }
  return original.call(this, request, parent, isMain, options);
};
