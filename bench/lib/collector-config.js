// The Collector configuration the rollout benchmarks push: a traces pipeline whose
// batch timeout is the version, so every version has another hash; `label` names
// the benchmark in the file's first line.
function collectorYaml(label, version) {
  return `# ${label} v${version}
receivers:
  otlp:
    protocols:
      grpc: {}
processors:
  batch:
    timeout: ${version}s
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`;
}

module.exports = { collectorYaml };
