/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'gateway',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/gateway',
};
