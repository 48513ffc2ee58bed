/* Unit tests of the harness itself (no app processes, no infrastructure). */
export default {
  displayName: 'fleet-e2e',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/fleet-e2e',
};
