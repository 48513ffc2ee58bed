/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'tracing',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/tracing',
};
