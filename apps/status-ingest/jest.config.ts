/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'status-ingest',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/status-ingest',
};
