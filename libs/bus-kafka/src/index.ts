/** Kafka adapter: client, topic setup, batched idempotent producer, ordered batch consumer. */
export * from './kafka-client';
export * from './record-producer';
export * from './batch-consumer';
export * from './consumer-lag.sampler';
export * from './consumer-lag.metrics';
