/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'swarm-lib',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/swarm',
};
