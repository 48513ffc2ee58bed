/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'config-service',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/config-service',
};
