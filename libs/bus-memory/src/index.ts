/** In-process twins of the Kafka and Redis adapters, for the embedded single-process server. */
export * from './memory-lease.store';
export * from './memory-push.bus';
export * from './memory-pending.store';
export * from './keyed-batch.queue';
export * from './memory-agent-change.feed';
