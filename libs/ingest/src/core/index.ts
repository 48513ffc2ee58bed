export * from './agent-state';
export * from './json';
export * from './apply-inbound';
export * from './events';
export * from './push';
export * from './agent-cursor';
export * from './ingest-defaults';
export * from './last-seen-buffer';
