/**
 * The reconciler's histograms (issue 21): push latency (a desired-state change
 * until the agent reports it APPLIED, core/push-latency.ts) and how long one
 * reconcile of a set of agents takes. prom-client histograms made without a
 * registry: config-service.metrics.ts registers them on its own.
 */
import { Histogram } from 'prom-client';

/** 0.1 s .. 30 min: a push through a healthy pipeline takes well under a second, a staged or queued one minutes. */
export const PUSH_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800];
export const RECONCILE_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What started a reconcile: an agent event batch, a re-evaluation page, the rollout driver. */
export type ReconcileTrigger = 'event' | 'reevaluation' | 'rollout';

export class ReconcileLatency {
  readonly pushLatency = new Histogram({
    name: 'opamp_config_push_latency_seconds',
    help:
      'Seconds from a desired-state change (the API change of a configuration version or assignment; for an agent a rollout moved, the start of its batch) ' +
      'until the agent reported the configuration APPLIED, once per agent and desired hash; changes an agent caused itself (new agent, own attributes) are not counted',
    labelNames: ['tenant'] as const,
    buckets: PUSH_LATENCY_BUCKETS,
    registers: [],
  });

  readonly reconcileSeconds = new Histogram({
    name: 'opamp_config_reconcile_duration_seconds',
    help: 'Seconds one reconcile of a set of agents took (resolve, render, decide, claim, push, record), by what started it (event, reevaluation, rollout)',
    labelNames: ['trigger'] as const,
    buckets: RECONCILE_SECONDS_BUCKETS,
    registers: [],
  });
}
