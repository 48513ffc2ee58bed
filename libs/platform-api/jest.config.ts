/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'platform-api',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/platform-api',
};
