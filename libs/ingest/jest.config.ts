/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'ingest',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/ingest',
};
