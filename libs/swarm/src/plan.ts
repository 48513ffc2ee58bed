/**
 * Owns how a swarm is spread over processes and source addresses.
 *
 * Limits on these machines (engineering notes C3): 20,000 open files per
 * process (so at most ~15,000 agents per worker, leaving room for the rest),
 * and ~28,000 ephemeral ports per (source address, server address, server
 * port), so at most ~25,000 connections from one 127.0.0.N to one endpoint.
 *
 * Agents are numbered 0..N-1; each worker runs one contiguous range. Inside a
 * worker agents take the worker's addresses round-robin, and across the
 * whole swarm agent i talks to endpoint i mod E.
 */

export interface PlanInput {
  readonly agents: number;
  /** At least this many workers (more if the per-worker limit needs them). */
  readonly workers?: number;
  readonly maxAgentsPerWorker?: number;
  /** Source addresses to use; default: as many as needed from `firstAddress` up. */
  readonly addresses?: readonly string[];
  readonly firstAddress?: string;
  readonly maxConnectionsPerAddress?: number;
  readonly endpoints: readonly string[];
  /** Agents started per second over the whole swarm. */
  readonly rampPerSecond: number;
}

export interface WorkerPlan {
  readonly workerId: number;
  readonly firstIndex: number;
  readonly count: number;
  readonly addresses: readonly string[];
  readonly rampPerSecond: number;
}

export interface SwarmPlan {
  readonly agents: number;
  readonly workers: readonly WorkerPlan[];
  readonly addresses: readonly string[];
  readonly endpoints: readonly string[];
  /** The most connections any (source address, endpoint) pair carries. */
  readonly maxPerAddressEndpoint: number;
}

export const DEFAULT_MAX_AGENTS_PER_WORKER = 15_000;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 25_000;
export const DEFAULT_FIRST_ADDRESS = '127.0.0.2';
/** Hard ceiling per process here (ulimit -n 20000 minus what the process itself needs). */
const ABSOLUTE_MAX_PER_WORKER = 19_500;

export function planSwarm(input: PlanInput): SwarmPlan {
  const n = input.agents;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('agents must be an integer >= 1');
  if (input.endpoints.length === 0) throw new RangeError('at least one endpoint is needed');
  if (!(input.rampPerSecond > 0)) throw new RangeError('rampPerSecond must be > 0');
  const perWorker = input.maxAgentsPerWorker ?? DEFAULT_MAX_AGENTS_PER_WORKER;
  if (!(perWorker >= 1 && perWorker <= ABSOLUTE_MAX_PER_WORKER)) {
    throw new RangeError(`maxAgentsPerWorker must be within 1..${ABSOLUTE_MAX_PER_WORKER} (open-files limit)`);
  }
  const perAddress = input.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  if (!(perAddress >= 1)) throw new RangeError('maxConnectionsPerAddress must be >= 1');

  const workerCount = Math.min(n, Math.max(input.workers ?? 1, Math.ceil(n / perWorker), 1));
  const addresses =
    input.addresses && input.addresses.length > 0
      ? [...input.addresses]
      : addressRange(input.firstAddress ?? DEFAULT_FIRST_ADDRESS, Math.max(workerCount, Math.ceil(n / perAddress)));

  const workers: WorkerPlan[] = [];
  const base = Math.floor(n / workerCount);
  const extra = n % workerCount;
  let first = 0;
  for (let w = 0; w < workerCount; w++) {
    const count = base + (w < extra ? 1 : 0);
    const own =
      addresses.length >= workerCount ? addresses.filter((_, a) => a % workerCount === w) : [addresses[w % addresses.length]];
    workers.push({ workerId: w, firstIndex: first, count, addresses: own, rampPerSecond: (input.rampPerSecond * count) / n });
    first += count;
  }

  // Count connections per (address, endpoint) exactly.
  const load = new Map<string, number>();
  const e = input.endpoints.length;
  for (const w of workers) {
    for (let k = 0; k < w.count; k++) {
      const i = w.firstIndex + k;
      const key = `${w.addresses[k % w.addresses.length]} ${input.endpoints[i % e]}`;
      load.set(key, (load.get(key) ?? 0) + 1);
    }
  }
  const maxPerAddressEndpoint = Math.max(...load.values());
  if (maxPerAddressEndpoint > perAddress) {
    throw new RangeError(
      `${maxPerAddressEndpoint} connections from one source address to one endpoint exceed ${perAddress}: give more addresses or endpoints`,
    );
  }
  return { agents: n, workers, addresses, endpoints: [...input.endpoints], maxPerAddressEndpoint };
}

/** The address and endpoint agent `index` of a worker uses. */
export function agentRoute(worker: WorkerPlan, endpoints: readonly string[], index: number): { address: string; endpoint: string } {
  const k = index - worker.firstIndex;
  return { address: worker.addresses[k % worker.addresses.length], endpoint: endpoints[index % endpoints.length] };
}

/** `count` consecutive IPv4 addresses from `first` (127.0.0.255 is followed by 127.0.1.0). */
export function addressRange(first: string, count: number): string[] {
  let n = ipv4ToInt(first);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    // Skip .0 and .255 host parts, which some stacks treat specially.
    while ((n & 0xff) === 0 || (n & 0xff) === 0xff) n++;
    out.push(intToIpv4(n));
    n++;
  }
  return out;
}

/** Parse `127.0.0.2-127.0.0.9,127.0.0.20` into a list. */
export function parseAddressList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [from, to] = part.split('-').map((s) => s.trim());
    if (to === undefined) {
      ipv4ToInt(from);
      out.push(from);
      continue;
    }
    const a = ipv4ToInt(from);
    const b = ipv4ToInt(to);
    if (b < a) throw new RangeError(`address range "${part}" runs backwards`);
    if (b - a > 65_536) throw new RangeError(`address range "${part}" is too large`);
    for (let n = a; n <= b; n++) out.push(intToIpv4(n));
  }
  if (out.length === 0) throw new RangeError('no addresses given');
  return out;
}

function ipv4ToInt(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new RangeError(`"${text}" is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function intToIpv4(n: number): string {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
