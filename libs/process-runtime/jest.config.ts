/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'process-runtime',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/process-runtime',
};
