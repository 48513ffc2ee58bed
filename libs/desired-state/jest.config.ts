/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'desired-state',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/desired-state',
};
