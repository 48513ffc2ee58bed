# The supervisor variant's image: the OpAMP supervisor with the Collector it
# runs (the supervisor image ships without one). Same version for both.
#   docker build -f deploy/examples/collector-supervisor.Dockerfile -t registry.example.com/otelcol-supervisor:0.120.0 .
ARG OTEL_VERSION=0.120.0
FROM otel/opentelemetry-collector-contrib:${OTEL_VERSION} AS collector
FROM otel/opentelemetry-collector-opampsupervisor:${OTEL_VERSION}
COPY --from=collector /otelcol-contrib /otelcol-contrib
