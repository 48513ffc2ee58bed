/** What every server process does alike: JSON log lines, and a graceful stop on SIGTERM / SIGINT. */
export * from './json-log';
export * from './graceful-stop';
