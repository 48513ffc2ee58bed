/** Nest injection tokens of the platform API: the service behind it and the proto3 JSON mapper. */
export const FLEET_API = Symbol('FLEET_API');
export const PROTO_JSON = Symbol('PROTO_JSON');
/** The prom-client Registry served at GET /metrics (optional). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
/** Where the API logs what callers cannot see (internal errors with their request id): a JsonLog, process-runtime's jsonLog unless the host gives one. */
export const API_LOG = Symbol('API_LOG');
