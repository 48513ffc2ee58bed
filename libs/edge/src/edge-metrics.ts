/**
 * The edge's Prometheus metrics, on a registry of its own (several gateways
 * can live in one test process or in the embedded server).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from '@opamp/process-runtime';
import { EDGE_DEFAULTS } from './edge-defaults';
import { boundedTenantSeries, countByTenant } from './tenant-series';

export type RejectionReason =
  | 'unauthorized'
  | 'overloaded'
  | 'too_many_connections'
  | 'draining'
  | 'text_frame'
  | 'malformed_frame'
  | 'malformed_protobuf'
  | 'invalid_instance_uid'
  | 'too_large'
  | 'unsupported_media_type'
  | 'bad_encoding'
  /** Values PostgreSQL cannot hold (U+0000, beyond int64, map entries without a value): dropped, or the message refused. */
  | 'unstorable_value'
  /** HTTP framing an intermediary could read differently (e.g. two Content-Length headers). */
  | 'ambiguous_http'
  | 'rate_limited'
  | 'backlog'
  | 'not_found'
  /** Credential refusals (agent-claim.ts): a credential used for an agent it does not speak for. */
  | 'credential_of_another_agent'
  | 'agent_has_own_credential'
  | 'agent_credential_required'
  | 'duplicate_connection'
  /** A client certificate the credential directory does not know (never issued, revoked, expired), or a malformed one. */
  | 'unknown_certificate'
  /** A client certificate that was revoked (the revocation set every gateway follows). */
  | 'certificate_revoked'
  /** A client certificate and a bearer credential that name different agents (client-certificate.ts). */
  | 'credential_mismatch';

export type PushResult = 'delivered' | 'fenced' | 'unknown_agent' | 'too_large' | 'backpressure' | 'malformed' | 'wakeup' | 'takeover';

export class EdgeMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({
    name: 'opamp_gateway_connections',
    help: 'Open agent connections (WebSocket) and in-flight requests (HTTP)',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly messagesIn = new Counter({
    name: 'opamp_gateway_messages_in_total',
    help: 'AgentToServer messages received, by transport and kind',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });
  readonly messagesOut = new Counter({
    name: 'opamp_gateway_messages_out_total',
    help: 'ServerToAgent messages sent, by transport and kind',
    labelNames: ['transport', 'kind'] as const,
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'opamp_gateway_rejections_total',
    help: 'Requests, upgrades and messages refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly produceSeconds = new Histogram({
    name: 'opamp_gateway_inbound_produce_seconds',
    help: 'Time until an inbound envelope is durable on the bus (Kafka produce latency)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly produceFailures = new Counter({
    name: 'opamp_gateway_inbound_produce_failures_total',
    help: 'Inbound envelopes the bus refused (the agent will be asked for full state)',
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'opamp_gateway_pushes_total',
    help: 'Pushes from workers, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly packageDownloads = new Counter({
    name: 'opamp_gateway_package_downloads_total',
    help: 'Package file download requests, by result (complete, partial, not_modified, unsatisfiable, not_found, unauthorized, busy, aborted, error)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly packageDownloadsActive = new Gauge({
    name: 'opamp_gateway_package_downloads_active',
    help: 'Package file downloads in flight on this gateway',
    registers: [this.registry],
  });
  readonly packageDownloadsCapacity = new Gauge({
    name: 'opamp_gateway_package_downloads_capacity',
    help: 'Package file downloads this gateway serves at once at most (OPAMP_PACKAGE_DOWNLOADS_MAX); beyond it requests get 503 + Retry-After',
    registers: [this.registry],
  });
  readonly packageBandwidthLimit = new Gauge({
    name: 'opamp_gateway_package_bandwidth_limit_bytes_per_second',
    help: 'Bytes per second all package downloads of this gateway share at most',
    registers: [this.registry],
  });
  readonly packageBytesOut = new Counter({
    name: 'opamp_gateway_package_bytes_out_total',
    help: 'Bytes of package files sent to agents',
    registers: [this.registry],
  });
  readonly telemetryRequests = new Counter({
    name: 'opamp_gateway_otlp_requests_total',
    help: "OTLP export requests of agents' own telemetry, by signal and result (accepted, unauthorized, malformed, too_large, unsupported_media_type, bad_encoding, busy, error)",
    labelNames: ['signal', 'result'] as const,
    registers: [this.registry],
  });
  readonly telemetryActive = new Gauge({
    name: 'opamp_gateway_otlp_requests_active',
    help: 'OTLP export requests in flight on this gateway (each holds one of its slots)',
    registers: [this.registry],
  });
  readonly telemetryItems = new Counter({
    name: 'opamp_gateway_otlp_items_total',
    help: 'Data points, spans and log records accepted by the OTLP receiver, by signal',
    labelNames: ['signal'] as const,
    registers: [this.registry],
  });
  readonly telemetryIdentityOverridden = new Counter({
    name: 'opamp_gateway_otlp_identity_overridden_total',
    help: "Resources whose service.instance.id named another instance than the agent whose credential sent them (overwritten)",
    registers: [this.registry],
  });
  readonly leaseFailures = new Counter({
    name: 'opamp_gateway_lease_failures_total',
    help: 'Connection leases that could not be taken or refreshed',
    registers: [this.registry],
  });

  readonly credentialLookups = new Counter({
    name: 'opamp_gateway_credential_lookups_total',
    help: 'Credentials not known here read from the shared directory before a refusal, by result (found, absent, error, skipped: over the rate bound)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly leaseRetries = new Counter({
    name: 'opamp_gateway_lease_retries_total',
    help: 'Connection leases taken again after Redis did not answer in time (the connection kept open meanwhile)',
    registers: [this.registry],
  });

  readonly connectionCap = new Gauge({
    name: 'opamp_gateway_connection_cap',
    help: 'WebSocket connections this gateway accepts at most (OPAMP_MAX_CONNECTIONS); beyond it upgrades are refused with 503',
    registers: [this.registry],
  });

  /** The tenants of the agents bound here, read at scrape time (set by the edge server). */
  private boundTenants: () => Iterable<string> = () => [];

  readonly agentsConnected = new Gauge({
    name: 'opamp_gateway_agents_connected',
    help: `Agents bound to a connection of this gateway, by tenant (the ${EDGE_DEFAULTS.metricTenantsMax} largest tenants; the rest summed under tenant="_other")`,
    labelNames: ['tenant'] as const,
    registers: [this.registry],
    collect: () => {
      this.agentsConnected.reset();
      for (const [tenant, n] of boundedTenantSeries(countByTenant(this.boundTenants()), EDGE_DEFAULTS.metricTenantsMax)) this.agentsConnected.set({ tenant }, n);
    },
  });

  constructor(options: { defaultMetrics?: boolean; gatewayId?: string } = {}) {
    if (options.gatewayId) this.registry.setDefaultLabels({ gateway: options.gatewayId });
    // Node's process metrics, the event-loop delay among them (one implementation for every process).
    if (options.defaultMetrics !== false) registerProcessMetrics(this.registry);
  }

  /** Counts the agents of `tenants` at each scrape from now on. */
  watchAgents(tenants: () => Iterable<string>): void {
    this.boundTenants = tenants;
  }

  reject(reason: RejectionReason): void {
    this.rejections.inc({ reason });
  }
}
