/**
 * Owns what each simulated agent says about itself: a realistic
 * AgentDescription (service.name/version as identifying attributes; host.name,
 * os.type, host.arch, deployment environment and cloud region as
 * non-identifying ones) drawn from weighted distributions, deterministically
 * from (seed, agent index), and which transport agent i uses.
 *
 * Labels (what selectors match) are the attributes flattened to strings,
 * non-identifying first and identifying winning on a collision, as the
 * server's label selectors see them.
 */
import type { AgentDescriptionInput, Attributes } from '@opamp/agent-sim';
import { checkDistribution, type Distribution, WeightedSampler } from './distribution';
import { agentRng } from './rng';

export const ATTR = {
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  hostName: 'host.name',
  hostArch: 'host.arch',
  osType: 'os.type',
  environment: 'deployment.environment.name',
  region: 'cloud.region',
} as const;

export interface DescriptionModel {
  readonly services: Distribution;
  readonly serviceVersions: Distribution;
  readonly osTypes: Distribution;
  readonly environments: Distribution;
  readonly regions: Distribution;
  /** Labels every agent carries as non-identifying attributes (e.g. a run id). */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

export const DEFAULT_DESCRIPTION_MODEL: DescriptionModel = Object.freeze({
  services: [
    { value: 'otelcol-gateway', weight: 10 },
    { value: 'otelcol-agent', weight: 50 },
    { value: 'checkout', weight: 8 },
    { value: 'payments', weight: 6 },
    { value: 'search', weight: 8 },
    { value: 'frontend', weight: 10 },
    { value: 'inventory', weight: 8 },
  ],
  serviceVersions: [
    { value: '0.120.0', weight: 60 },
    { value: '0.119.0', weight: 30 },
    { value: '0.115.1', weight: 10 },
  ],
  osTypes: [
    { value: 'linux', weight: 90 },
    { value: 'windows', weight: 8 },
    { value: 'darwin', weight: 2 },
  ],
  environments: [
    { value: 'prod', weight: 70 },
    { value: 'staging', weight: 20 },
    { value: 'dev', weight: 10 },
  ],
  regions: [
    { value: 'eu-west-1', weight: 40 },
    { value: 'us-east-1', weight: 40 },
    { value: 'ap-southeast-2', weight: 20 },
  ],
});

const ARCH: Readonly<Record<string, string>> = { linux: 'amd64', windows: 'amd64', darwin: 'arm64' };

export function checkDescriptionModel(model: DescriptionModel): void {
  checkDistribution(model.services, 'services');
  checkDistribution(model.serviceVersions, 'serviceVersions');
  checkDistribution(model.osTypes, 'osTypes');
  checkDistribution(model.environments, 'environments');
  checkDistribution(model.regions, 'regions');
}

/**
 * Describes agents by index. Identifying attribute objects are shared between
 * agents with the same service and version (they are frozen), so a 100k swarm
 * holds one small object per agent for the rest.
 */
export class DescriptionGenerator {
  private readonly services: WeightedSampler;
  private readonly versions: WeightedSampler;
  private readonly osTypes: WeightedSampler;
  private readonly environments: WeightedSampler;
  private readonly regions: WeightedSampler;
  private readonly identifyingCache = new Map<string, Attributes>();
  private readonly extra: Readonly<Record<string, string>>;

  constructor(
    model: DescriptionModel,
    private readonly seed: number,
  ) {
    checkDescriptionModel(model);
    this.services = new WeightedSampler(model.services);
    this.versions = new WeightedSampler(model.serviceVersions);
    this.osTypes = new WeightedSampler(model.osTypes);
    this.environments = new WeightedSampler(model.environments);
    this.regions = new WeightedSampler(model.regions);
    this.extra = model.extraLabels ?? {};
  }

  describe(index: number): AgentDescriptionInput {
    const rng = agentRng(this.seed, index);
    const service = this.services.sample(rng());
    const version = this.versions.sample(rng());
    const os = this.osTypes.sample(rng());
    const environment = this.environments.sample(rng());
    const region = this.regions.sample(rng());
    const suffix = Math.floor(rng() * 0x1000000).toString(16).padStart(6, '0');
    const host = os === 'windows' ? `WIN-${suffix.toUpperCase()}${index.toString(36).toUpperCase()}` : `${service}-${suffix}-${index.toString(36)}`;
    const key = `${service}\u0000${version}`;
    let identifying = this.identifyingCache.get(key);
    if (!identifying) {
      identifying = Object.freeze({ [ATTR.serviceName]: service, [ATTR.serviceVersion]: version });
      this.identifyingCache.set(key, identifying);
    }
    const nonIdentifying: Record<string, string> = {
      [ATTR.hostName]: host,
      [ATTR.osType]: os,
      [ATTR.hostArch]: ARCH[os] ?? 'amd64',
      [ATTR.environment]: environment,
      [ATTR.region]: region,
    };
    for (const [k, v] of Object.entries(this.extra)) nonIdentifying[k] = v;
    return { identifying, nonIdentifying };
  }

  /** The agent's labels as a server selector sees them (identifying attributes win). */
  labels(index: number): Record<string, string> {
    return descriptionLabels(this.describe(index));
  }
}

export function descriptionLabels(description: AgentDescriptionInput): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(description.nonIdentifying ?? {})) labels[k] = String(v);
  for (const [k, v] of Object.entries(description.identifying ?? {})) labels[k] = String(v);
  return labels;
}

/**
 * Whether agent `index` speaks WebSocket, for a WS share `wsFraction` in 0..1:
 * spread evenly (Bresenham), so any contiguous range of agents has the same mix
 * and the total is exact (round(N * wsFraction) over the first N).
 */
export function isWsAgent(index: number, wsFraction: number): boolean {
  if (wsFraction >= 1) return true;
  if (wsFraction <= 0) return false;
  return Math.floor((index + 1) * wsFraction + 0.5) - Math.floor(index * wsFraction + 0.5) === 1;
}
