/* Integration tests: a real swarm (worker processes) against a real gateway edge on the Kafka and Redis of `npm run infra:up`. */
export default {
  displayName: 'swarm-lib:integration',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/test/**/*.integration-spec.ts'],
  testTimeout: 60000,
};
