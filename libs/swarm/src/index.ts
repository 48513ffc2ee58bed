/**
 * Public API of @opamp/swarm: a load-generating swarm of simulated OpAMP
 * agents spread over worker processes and source addresses (runSwarm), and
 * the pure parts it is built from (planning, descriptions, statistics,
 * convergence tracking, reports).
 */
export { runSwarm, SwarmHandle, workerCommand } from './orchestrator';
export type { SwarmHandleEvents } from './orchestrator';
export { DEFAULT_AGENT_SETTINGS, DEFAULT_INITIAL_CONFIG, resolveSwarmOptions } from './options';
export type { ResolvedSwarmOptions, SwarmAgentSettings, SwarmOptions } from './options';
export { formatCounts, formatProgress, formatSummary } from './report';
export { formatErrorSamples, mergeErrorSamples } from './error-samples';
export type { ErrorSample, ErrorSampleSet } from './error-samples';
export type { SwarmProgress, SwarmReport, TimePoint, WorkerReport } from './report';
export { ConvergenceTracker, APPLIED, APPLYING, FAILED } from './convergence';
export type { ConvergenceStatus } from './convergence';
export { ATTR, DEFAULT_DESCRIPTION_MODEL, DescriptionGenerator, descriptionLabels, isWsAgent } from './description';
export type { DescriptionModel } from './description';
export { formatDistribution, parseDistribution, WeightedSampler } from './distribution';
export type { Distribution, WeightedValue } from './distribution';
export { addressRange, agentRoute, DEFAULT_FIRST_ADDRESS, DEFAULT_MAX_AGENTS_PER_WORKER, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, parseAddressList, planSwarm } from './plan';
export type { PlanInput, SwarmPlan, WorkerPlan } from './plan';
export { agentRng, mixSeed, seededRng, seedFromText } from './rng';
export type { Rng } from './rng';
export { formatEqualitySelector, matchesEquality, parseEqualitySelector } from './selector';
export type { EqualitySelector } from './selector';
export { percentile, SampleBuffer, summarize } from './stats';
export type { Counts, LatencySummary } from './stats';
