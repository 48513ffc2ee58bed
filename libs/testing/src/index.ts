/** Test support shared by every project: real-infrastructure settings, bounded waits, factories, the embedded server as a process. */
export * from './test-infra';
export * from './wait-for';
export * from './embedded-server-process';
export * from './raw-http.connection';
export * from './stallable-link';
