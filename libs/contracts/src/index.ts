/** Contracts between our own processes: envelope schemas, Kafka topics, Redis keys and channels. */
export { fleet } from './fleet-schema';
export * from './envelope-codec';
export * from './kafka-topics';
export * from './redis-keys';
export * from './agent-push.router';
export * from './agent-change-feed';
export * from './package-download-url';
