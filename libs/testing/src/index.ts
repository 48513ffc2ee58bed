/** Test support shared by every project: real-infrastructure settings, bounded waits, factories, the embedded server as a process, the README's code blocks, the metric names the chart's dashboards and alerts read. */
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
export * from './promql-metric-names';
export * from './monitoring-as-code';
export * from './test-csr';
export * from './download-cut.proxy';
export * from './websocket-probe';
