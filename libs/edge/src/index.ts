/** The OpAMP edge (gateway core): transports, admission, routing to the bus, push delivery. */
export * from './edge-ports';
export * from './edge-defaults';
export * from './edge-metrics';
export * from './server-reply';
export * from './token-bucket';
export * from './agent-token.authority';
export * from './agent-claim';
export * from './client-certificate';
export * from './trusted-proxies';
export * from './edge-options';
export * from './opamp-edge.server';
export * from './package-download.route';
export * from './admin.server';
export * from './adapters/kafka-inbound.sink';
export * from './adapters/redis-push.inbox';
export * from './adapters/redis-peer.gateways';
