/* Integration tests: run against the real Kafka, Redis and PostgreSQL from `npm run infra:up`. */
export default {
  displayName: 'config-service:integration',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  testTimeout: 60000,
};
