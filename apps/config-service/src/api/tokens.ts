/** Nest injection tokens of config-service (the platform API's own come from its lib). */
export { FLEET_API, METRICS_REGISTRY, PROTO_JSON } from '@opamp/platform-api';
export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');
export const KAFKA = Symbol('KAFKA');
export const REPOSITORY = Symbol('REPOSITORY');
export const RECONCILER = Symbol('RECONCILER');
export const ROLLOUT_DRIVER = Symbol('ROLLOUT_DRIVER');
/** Dedicated Redis connection for subscriptions (the agent-change feed). */
export const REDIS_SUB = Symbol('REDIS_SUB');
export const AGENT_CHANGES = Symbol('AGENT_CHANGES');
export const METRICS = Symbol('METRICS');
export const IDENTITY = Symbol('IDENTITY');
/** The package reconciler (desired packages per group), fed by the event worker and the API. */
export const PACKAGES = Symbol('PACKAGES');
export const PACKAGE_RETRIES = Symbol('PACKAGE_RETRIES');
/** This process's traces (ServerTracing.off unless OPAMP_TRACING_OTLP_ENDPOINT is set). */
export const TRACING = Symbol('TRACING');
/** The lag sampler of the reconciler's consumer group (started when OPAMP_CONSUMER_LAG_SAMPLE_MS > 0). */
export const CONSUMER_LAG = Symbol('CONSUMER_LAG');
export const PACKAGE_BLOBS = Symbol('PACKAGE_BLOBS');
