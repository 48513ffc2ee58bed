/* Unit tests of the harness itself (no app processes, no infrastructure). */
export default {
  displayName: 'fleet-e2e',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // These start real processes (HAProxy, node, sh): jest's 5 s default failed a HAProxy reload test on a busy 2-core machine.
  testTimeout: 60_000,
  coverageDirectory: '../../coverage/apps/fleet-e2e',
};
