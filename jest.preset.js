// Shared jest settings for every project. Times are UTC so snapshots and
// timestamps do not depend on the machine.
process.env.TZ = 'UTC';

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: require('./jest.paths.js'),
  coverageReporters: ['text-summary', 'lcov'],
};

// The test command collects one result file per jest run to print a total.
if (process.env.OPAMP_JEST_RESULTS_DIR) {
  module.exports.reporters = ['default', require('path').join(__dirname, 'scripts', 'jest-result-file.js')];
}
