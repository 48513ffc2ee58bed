/* Integration tests: spans exported over real OTLP/HTTP to a receiver on loopback. */
export default {
  displayName: 'tracing:integration',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  testTimeout: 60000,
};
