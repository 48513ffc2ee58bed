/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'fleet-server',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/fleet-server',
};
