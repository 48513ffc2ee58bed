/**
 * Public API of @opamp/protocol: the OpAMP wire schema, WS framing, message
 * codec, HTTP body handling, capability rules, instance ids and config
 * hashing; the OTLP export requests of agents' own telemetry (otlp-request.ts).
 * Pure code with no framework dependencies.
 */
export * from './opamp-schema';
export * from './protocol-error';
export * from './ws-framing';
export * from './message-codec';
export * from './http-body';
export * from './capabilities';
export * from './instance-uid';
export * from './config-hash';
export { LONG_AS_NUMBER } from './protobuf-numbers';
export * from './storable-values';
export * from './otlp-request';
