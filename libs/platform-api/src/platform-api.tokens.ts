/** Nest injection tokens of the platform API: the service behind it and the proto3 JSON mapper. */
export const FLEET_API = Symbol('FLEET_API');
export const PROTO_JSON = Symbol('PROTO_JSON');
/** The prom-client Registry served at GET /metrics (optional). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
