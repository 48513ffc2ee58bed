/** What every server process does alike: JSON log lines, a graceful stop on SIGTERM / SIGINT, process metrics, event-loop slices. */
export * from './json-log';
export * from './graceful-stop';
export * from './process.metrics';
export * from './event-loop.slice';
