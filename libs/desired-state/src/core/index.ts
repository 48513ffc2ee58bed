/** The pure desired-state core: no framework, no I/O. */
export * from './errors';
export * from './limits';
export * from './selector';
export * from './template';
export * from './yaml-template';
export * from './validation';
export * from './configuration';
export * from './assignment';
export * from './reconcile';
export * from './rollout';
export * from './agent-watch';
export * from './agent-order';
export * from './audit-search';
export * from './connection-profile';
export * from './agent-credential';
export * from './enrollment-token';
export * from './agent-credential-state';
