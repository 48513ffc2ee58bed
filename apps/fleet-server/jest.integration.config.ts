/* Integration tests: run against the real Kafka, Redis and PostgreSQL from `npm run infra:up`. */
export default {
  displayName: 'fleet-server:integration',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  testTimeout: 120000,
};
