/**
 * config-service's Prometheus metrics (distributed replicas and the embedded
 * server): read at scrape time from the plain counters the reconciler, the
 * rollout driver, the push dispatcher, the API and the watch hub keep, on a
 * registry of its own (several can live in one test process).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { registerProcessMetrics } from '@opamp/process-runtime';
import type { FleetApiService } from '../api/fleet-api.service';
import type { AgentPushDispatcher } from '../store/agent-push.dispatcher';
import type { PackageReconciler } from './package.reconciler';
import type { PackageBlobCollector } from './package-blob.collector';
import { mirrorCounter } from './metric-mirror';
import { registerPackageMetrics } from './package.metrics';
import type { AgentCertificateReconciler } from './agent-certificate.reconciler';
import type { AgentCertificateRotator } from './agent-certificate.rotator';
import { registerCertificateMetrics } from './certificate.metrics';
import { FleetStateRepository } from '../store/fleet-state.repository';
import { registerFleetStateMetrics } from './fleet-state.metrics';
import type { Reconciler, ReconcilerMetrics } from './reconciler';
import type { RolloutDriver, RolloutDriverMetrics } from './rollout-driver';

export interface ConfigServiceMetricsSources {
  reconciler: Reconciler;
  rolloutDriver: RolloutDriver;
  dispatcher: AgentPushDispatcher;
  api: FleetApiService;
  /** Desired packages (runtime/package.reconciler.ts), when this process offers them. */
  packages?: PackageReconciler;
  /** Collection of unreferenced package files, when this process runs it. */
  packageBlobs?: PackageBlobCollector;
  /** Agents' CSRs (issue 18). */
  certificates?: AgentCertificateReconciler;
  /** Certificate rotation (issue 18 item 4), when this process renews certificates. */
  certificateRotator?: AgentCertificateRotator;
}

const RECONCILER_COUNTERS: Array<[keyof ReconcilerMetrics, string, string]> = [
  ['events', 'opamp_config_reconciler_events_total', 'Agent event records received'],
  ['eventsHandled', 'opamp_config_reconciler_events_handled_total', 'Agent event records fully handled (decided, pushed, recorded)'],
  ['decodeErrors', 'opamp_config_reconciler_decode_errors_total', 'Agent event records skipped as malformed'],
  ['agentsEvaluated', 'opamp_config_reconciler_agents_evaluated_total', 'Agent evaluations (events, re-evaluations, rollouts)'],
  ['decisionsChanged', 'opamp_config_reconciler_decisions_changed_total', "Agents whose recorded decision (desired config, reason, last sent) changed"],
  ['renderTurns', 'opamp_config_reconciler_render_turns_total', 'Times rendering a page let the event loop turn (its time slice used up)'],
  ['configsPushed', 'opamp_config_reconciler_configs_pushed_total', 'Remote configurations pushed'],
  ['notSent', 'opamp_config_reconciler_not_sent_total', 'Evaluations that left the desired configuration unsent (template, component, capability)'],
  ['pushErrors', 'opamp_config_reconciler_push_errors_total', 'Pushes that failed'],
  ['sendsNotClaimed', 'opamp_config_reconciler_sends_not_claimed_total', 'Pushes another reconciler had already claimed'],
  ['sendsAwaitingStatus', 'opamp_config_reconciler_sends_awaiting_status_total', 'Resends left out: the same hash went to the same connection within the status wait'],
  ['reevaluationPages', 'opamp_config_reevaluation_pages_total', 'Re-evaluation pages worked'],
  ['reevaluationAgents', 'opamp_config_reevaluation_agents_total', 'Agents re-evaluated after desired-state changes'],
  ['reevaluationJobsFinished', 'opamp_config_reevaluation_jobs_finished_total', 'Durable re-evaluation jobs finished'],
  ['reevaluationJobsResumed', 'opamp_config_reevaluation_jobs_resumed_total', 'Re-evaluation jobs taken over from their cursor (after a crash or a lost lease)'],
  ['agentRowsAwaited', 'opamp_config_reconciler_agent_rows_awaited_total', 'Agents of events whose row was not committed yet when the event arrived (waited for)'],
  ['agentRowsMissing', 'opamp_config_reconciler_agent_rows_missing_total', 'Agents of events whose row did not appear within the wait (taken as deleted)'],
];

const ROLLOUT_COUNTERS: Array<[keyof RolloutDriverMetrics, string, string]> = [
  ['ticks', 'opamp_config_rollout_ticks_total', 'Rollout driver ticks'],
  ['steps', 'opamp_config_rollout_steps_total', 'Rollout steps taken'],
  ['leasesAcquired', 'opamp_config_rollout_leases_acquired_total', 'Rollout leases taken (start or takeover)'],
  ['batchesStarted', 'opamp_config_rollout_batches_started_total', 'Rollout batches started'],
  ['batchesPassed', 'opamp_config_rollout_batches_passed_total', 'Rollout batches passed'],
  ['batchesFailed', 'opamp_config_rollout_batches_failed_total', 'Rollout batches failed'],
  ['agentsTimedOut', 'opamp_config_rollout_agents_timed_out_total', 'Rollout agents past their apply deadline'],
  ['ownTelemetryGates', 'opamp_config_rollout_own_telemetry_gates_total', "Rollout batches judged on their agents' own metrics"],
  ['ownTelemetryGatesFailed', 'opamp_config_rollout_own_telemetry_gates_failed_total', "Rollout batches failed on their agents' own metrics"],
  ['rolloutsCompleted', 'opamp_config_rollouts_completed_total', 'Rollouts completed'],
  ['rolloutsRolledBack', 'opamp_config_rollouts_rolled_back_total', 'Rollouts rolled back'],
  ['fenceLost', 'opamp_config_rollout_fence_lost_total', 'Rollout writes refused by the lease or revision fence'],
  ['errors', 'opamp_config_rollout_errors_total', 'Rollout driver errors'],
];


export class ConfigServiceMetrics {
  readonly registry = new Registry();

  constructor(sources: ConfigServiceMetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const { reconciler, rolloutDriver, dispatcher, api } = sources;
    // Node's process metrics, the event-loop delay among them (one implementation for every process).
    if (options.defaultMetrics !== false) registerProcessMetrics(this.registry);
    for (const [key, name, help] of RECONCILER_COUNTERS) mirrorCounter(this.registry, name, help, () => reconciler.metrics[key]);
    for (const [key, name, help] of ROLLOUT_COUNTERS) mirrorCounter(this.registry, name, help, () => rolloutDriver.metrics[key]);
    this.registry.registerMetric(reconciler.latency.pushLatency);
    this.registry.registerMetric(reconciler.latency.reconcileSeconds);
    new Counter({
      name: 'opamp_config_pushes_total',
      help: 'Pushes to agents by kind (remote_config, command, custom_message) and delivery (published, pending, failed)',
      labelNames: ['kind', 'delivery'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, n] of dispatcher.sent) {
          const [kind, delivery] = key.split('/');
          this.inc({ kind, delivery }, n);
        }
      },
    });
    mirrorCounter(
      this.registry,
      'opamp_config_pushes_rerouted_total',
      'WebSocket pushes sent to the connection the agent lease names because the row they were decided from named an older one (after a failover)',
      () => dispatcher.rerouted,
    );
    new Counter({
      name: 'opamp_config_api_requests_total',
      help: 'Platform API calls (gRPC and REST) by method and outcome code (OK or the gRPC status name)',
      labelNames: ['method', 'code'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [method, codes] of Object.entries(api.metrics.requests)) for (const [code, n] of Object.entries(codes)) this.inc({ method, code }, n);
      },
    });
    const profiles = api.connectionProfiles.metrics;
    mirrorCounter(this.registry, 'opamp_config_connection_profile_agents_reevaluated_total', 'Agents offered their settings again after connection profile changes', () => profiles.agentsReevaluated);
    mirrorCounter(
      this.registry,
      'opamp_config_connection_profile_reevaluation_errors_total',
      'Re-evaluations after a connection profile change that failed (those agents get the change with their next event)',
      () => profiles.reevaluationErrors,
    );
    registerPackageMetrics(this.registry, api, sources.packages ?? null, sources.packageBlobs ?? null);
    registerFleetStateMetrics(this.registry, new FleetStateRepository(api.rollouts.repo.db));
    const watch = api.watches.metrics;
    new Gauge({
      name: 'opamp_config_watchers_active',
      help: 'Open WatchAgents streams',
      registers: [this.registry],
      collect() {
        this.set(watch.watchersActive);
      },
    });
    mirrorCounter(this.registry, 'opamp_config_watchers_opened_total', 'WatchAgents streams opened', () => watch.watchersOpened);
    mirrorCounter(
      this.registry,
      'opamp_config_watch_streams_dropped_total',
      'WatchAgents streams ended by the server: the client fell behind (RESOURCE_EXHAUSTED) or the change feed was interrupted (UNAVAILABLE)',
      () => watch.streamsDropped,
    );
    mirrorCounter(this.registry, 'opamp_config_watch_events_sent_total', 'WatchAgents events sent', () => watch.eventsSent);
    const revocation = api.certificateRevocation;
    new Counter({
      name: 'opamp_config_certificates_revoked_total',
      help: 'Client certificates revoked (RevokeAgentCertificates, RevokeAgents), by the CRL reason code',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(revocation.metrics.revoked)) this.inc({ reason }, n);
      },
    });
    mirrorCounter(this.registry, 'opamp_config_crls_signed_total', "CAs' certificate revocation lists signed (on revocation, by the sweep before nextUpdate)", () => revocation.crlsSigned);
    const certificates = sources.certificates?.metrics;
    if (certificates) {
      new Counter({
        name: 'opamp_config_certificate_requests_total',
        help: "Agents' CSRs by outcome (issued, waiting for approval, refused with BAD_REQUEST) and the reason of a refusal",
        labelNames: ['outcome', 'reason'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc({ outcome: 'issued', reason: '' }, certificates.issued);
          this.inc({ outcome: 'waiting', reason: '' }, certificates.waiting);
          for (const [reason, n] of Object.entries(certificates.refused)) this.inc({ outcome: 'refused', reason }, n);
        },
      });
      registerCertificateMetrics(this.registry, sources.certificates as AgentCertificateReconciler, sources.certificateRotator ?? null);
    }
  }
}
