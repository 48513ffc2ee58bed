import { DescriptionGenerator, DEFAULT_DESCRIPTION_MODEL, descriptionLabels, isWsAgent } from './description';
import { parseDistribution, WeightedSampler } from './distribution';
import { seededRng, seedFromText } from './rng';

describe('weighted distributions', () => {
  it('parses value:weight lists, weights default to 1', () => {
    expect(parseDistribution('prod:70, staging:20,dev')).toEqual([
      { value: 'prod', weight: 70 },
      { value: 'staging', weight: 20 },
      { value: 'dev', weight: 1 },
    ]);
    expect(() => parseDistribution('')).toThrow('at least one');
    expect(() => parseDistribution('a:-1')).toThrow('>= 0');
    expect(() => parseDistribution('a:0,b:0')).toThrow('more than 0');
  });

  it('samples by weight with a seeded generator, never a zero weight', () => {
    const sampler = new WeightedSampler(parseDistribution('a:70,never:0,b:20,c:10'));
    const rng = seededRng(42);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) {
      const v = sampler.sample(rng());
      counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(counts['never']).toBeUndefined();
    expect(counts['a'] / 100_000).toBeCloseTo(0.7, 1);
    expect(counts['b'] / 100_000).toBeCloseTo(0.2, 1);
    expect(counts['c'] / 100_000).toBeCloseTo(0.1, 1);
    // Edges of [0, 1).
    expect(sampler.sample(0)).toBe('a');
    expect(sampler.sample(0.999999)).toBe('c');
  });

  it('gives the same sequence for the same seed', () => {
    const a = seededRng(7);
    const b = seededRng(7);
    const c = seededRng(8);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect([c(), c(), c()]).not.toEqual(xs);
    expect(seedFromText('42')).toBe(42);
    expect(seedFromText('fleet-a')).toBe(seedFromText('fleet-a'));
    expect(seedFromText('fleet-a')).not.toBe(seedFromText('fleet-b'));
  });
});

describe('agent descriptions', () => {
  const model = {
    ...DEFAULT_DESCRIPTION_MODEL,
    environments: parseDistribution('prod:75,staging:25'),
    regions: parseDistribution('eu:1,us:1'),
  };

  it('are deterministic per (seed, index), whatever order they are generated in', () => {
    const g1 = new DescriptionGenerator(model, 99);
    const g2 = new DescriptionGenerator(model, 99);
    const forward = [0, 1, 2, 3].map((i) => g1.describe(i));
    const backward = [3, 2, 1, 0].map((i) => g2.describe(i)).reverse();
    expect(backward).toEqual(forward);
    expect(new DescriptionGenerator(model, 100).describe(0)).not.toEqual(forward[0]);
  });

  it('carry realistic attributes and follow the distributions', () => {
    const g = new DescriptionGenerator({ ...model, extraLabels: { 'swarm.run': 'r1' } }, 1);
    const d = g.describe(5);
    expect(Object.keys(d.identifying!)).toEqual(['service.name', 'service.version']);
    expect(d.nonIdentifying).toMatchObject({ 'swarm.run': 'r1' });
    for (const key of ['host.name', 'os.type', 'host.arch', 'deployment.environment.name', 'cloud.region']) {
      expect(typeof d.nonIdentifying![key]).toBe('string');
    }
    let prod = 0;
    const hosts = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const labels = g.labels(i);
      if (labels['deployment.environment.name'] === 'prod') prod++;
      hosts.add(labels['host.name']);
    }
    expect(prod / 20_000).toBeCloseTo(0.75, 1);
    expect(hosts.size).toBe(20_000);
  });

  it('share identifying attribute objects between agents of one service and version', () => {
    const g = new DescriptionGenerator({ ...model, services: parseDistribution('one'), serviceVersions: parseDistribution('1.0') }, 3);
    expect(g.describe(1).identifying).toBe(g.describe(2).identifying);
  });

  it('flatten to labels with identifying attributes winning', () => {
    expect(descriptionLabels({ identifying: { a: '1' }, nonIdentifying: { a: '2', b: true } })).toEqual({ a: '1', b: 'true' });
  });

  it('spread the WS/HTTP mix evenly with an exact total', () => {
    const count = (n: number, f: number, from = 0) => {
      let ws = 0;
      for (let i = from; i < from + n; i++) if (isWsAgent(i, f)) ws++;
      return ws;
    };
    expect(count(1000, 0.7)).toBe(700);
    expect(count(300, 2 / 3)).toBe(200);
    expect(count(100, 0.7, 500)).toBe(70);
    expect(count(10, 1)).toBe(10);
    expect(count(10, 0)).toBe(0);
  });
});
