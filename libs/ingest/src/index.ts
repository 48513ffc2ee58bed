/** status-ingest: the pure core, its storage adapters and the worker runtime. */
export * from './core';
export * from './store/agent-repository';
export * from './store/cursor-store';
export * from './store/push-dispatcher';
export * from './runtime/inbound-processor';
export * from './runtime/liveness-sweeper';
export * from './runtime/last-seen.flusher';
export * from './runtime/connection-reset';
export * from './runtime/agent-retention.sweeper';
export * from './runtime/ingest-worker';
/** Factories for tests of ingest and of its users (no I/O; safe to ship). */
export * as ingestTesting from './testing/factories';
export * from './store/own-telemetry-counter.repository';
export * from './runtime/own-telemetry.consumer';
export * from './store/own-metric.repository';
export * from './runtime/own-metric.store';
export * from './runtime/own-metric-partition.sweeper';
export * from './runtime/own-telemetry.forwarder';
