/* Unit tests: pure logic, no servers. */
export default {
  displayName: 'certificate-authority',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/certificate-authority',
};
