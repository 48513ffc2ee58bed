/** Typed, fail-fast configuration from environment variables, for each app's config module. */
export * from './env-schema';
export * from './backend-env';
export * from './credential-key';
export * from './client-identity-env';
export * from './kafka-security-env';
export * from './tracing-env';
