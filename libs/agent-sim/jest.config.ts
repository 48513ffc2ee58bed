/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'agent-sim',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/agent-sim',
};
