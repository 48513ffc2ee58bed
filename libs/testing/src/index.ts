/** Test support shared by every project: real-infrastructure settings, bounded waits, factories. */
export * from './test-infra';
export * from './wait-for';
