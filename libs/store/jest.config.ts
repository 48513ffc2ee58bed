/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'store',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/store',
};
