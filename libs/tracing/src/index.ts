/** This server's own traces: the SDK set-up, sampling, and the traceparent carried between processes. */
export * from './trace-parent';
export * from './server-tracing';
