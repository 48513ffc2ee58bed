/** Redis adapter: connections, connection leases with fencing epochs, per-gateway push channels. */
export * from './redis-connection';
export * from './connection-lease.repository';
export * from './gateway-push.channel';
export * from './pending-push.store';
export * from './agent-token.directory';
export * from './agent-change.feed';
export * from './agent-state.eraser';
export * from './gateway-presence';
