/** @opamp/desired-state: configurations, targeting, reconciliation and the platform API core of config-service. */
export * from './core';
