/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'swarm',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/swarm',
};
