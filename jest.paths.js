// Maps the workspace's TypeScript path aliases (tsconfig.base.json) for jest.
const { compilerOptions } = require('./tsconfig.base.json');
const path = require('path');

const mapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  mapper[`^${alias.replace('/', '\\/')}$`] = path.join(__dirname, target);
}
module.exports = mapper;
