/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'bus-memory',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/bus-memory',
};
