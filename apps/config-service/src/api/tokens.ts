/** Nest injection tokens of config-service. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const REDIS = Symbol('REDIS');
export const KAFKA = Symbol('KAFKA');
export const REPOSITORY = Symbol('REPOSITORY');
export const RECONCILER = Symbol('RECONCILER');
export const FLEET_API = Symbol('FLEET_API');
export const PROTO_JSON = Symbol('PROTO_JSON');
