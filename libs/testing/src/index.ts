/** Test support shared by every project: real-infrastructure settings, bounded waits, factories, the embedded server as a process, the README's code blocks. */
export * from './test-infra';
export * from './wait-for';
export * from './embedded-server-process';
export * from './readme-block-extract';
export * from './raw-http.connection';
export * from './stallable-link';
export * from './free-port';
export * from './opamp-go-agent.process';
export * from './console-browser';
export * from './test-pki';
export * from './haproxy-terminator.process';
export * from './package-file.server';
export * from './test-csr';
export * from './otlp-export.client';
