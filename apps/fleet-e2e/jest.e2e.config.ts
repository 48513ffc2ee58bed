/*
 * End-to-end tests: the built apps (dist/out-tsc) as real processes against the
 * real Kafka, Redis and PostgreSQL from `npm run infra:up`, and README.md's
 * examples against the embedded server. The e2e target builds the apps first.
 */
export default {
  displayName: 'fleet-e2e:e2e',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  testTimeout: 150000,
};
