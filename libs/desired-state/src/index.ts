/** @opamp/desired-state: configurations, targeting, reconciliation and the platform API core of config-service. */
export * from './core';
export * from './store/agent-push.dispatcher';
export * from './store/desired-state.repository';
export * from './runtime/reconciler';
export * from './runtime/reconciler-worker';
export * from './store/rollout.repository';
export * from './store/reevaluation-job.repository';
export * from './runtime/rollout-driver';
export * from './runtime/agent-watch.hub';
export * from './runtime/config-service.metrics';
export * from './api/rollout-api';
export * from './api/fleet-api.service';
export * from './api/agent-api';
export * from './api/configuration-api';
export * from './api/assignment-api';
export * from './api/agent-token-api';
export * from './api/audit-api';
export { rejectNulText } from './api/request-fields';
