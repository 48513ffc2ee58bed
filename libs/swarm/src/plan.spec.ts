import { addressRange, agentRoute, parseAddressList, planSwarm } from './plan';

const ws = ['ws://127.0.0.1:4320/v1/opamp'];

describe('planSwarm', () => {
  it('keeps each worker at or under the per-process limit', () => {
    const plan = planSwarm({ agents: 100_000, endpoints: ws, rampPerSecond: 1000 });
    expect(plan.workers).toHaveLength(7);
    expect(Math.max(...plan.workers.map((w) => w.count))).toBeLessThanOrEqual(15_000);
    expect(plan.workers.reduce((n, w) => n + w.count, 0)).toBe(100_000);
    // Contiguous ranges.
    plan.workers.forEach((w, i) => {
      if (i > 0) expect(w.firstIndex).toBe(plan.workers[i - 1].firstIndex + plan.workers[i - 1].count);
    });
    // One address per worker at least, each below the per-address limit; ramp shares add up.
    expect(plan.addresses).toEqual(addressRange('127.0.0.2', 7));
    expect(plan.maxPerAddressEndpoint).toBeLessThanOrEqual(25_000);
    expect(plan.workers.reduce((n, w) => n + w.rampPerSecond, 0)).toBeCloseTo(1000);
  });

  it('honours a requested worker count and given addresses', () => {
    const plan = planSwarm({ agents: 300, workers: 3, addresses: parseAddressList('127.0.0.2-127.0.0.4'), endpoints: ws, rampPerSecond: 300 });
    expect(plan.workers.map((w) => [w.firstIndex, w.count, w.addresses])).toEqual([
      [0, 100, ['127.0.0.2']],
      [100, 100, ['127.0.0.3']],
      [200, 100, ['127.0.0.4']],
    ]);
    expect(agentRoute(plan.workers[1], ws, 150)).toEqual({ address: '127.0.0.3', endpoint: ws[0] });
  });

  it('uses more addresses than workers when the per-address limit needs them, round-robin inside a worker', () => {
    const plan = planSwarm({ agents: 30_000, workers: 2, maxConnectionsPerAddress: 5_000, endpoints: ws, rampPerSecond: 100 });
    expect(plan.addresses).toHaveLength(6);
    expect(plan.workers[0].addresses).toEqual(['127.0.0.2', '127.0.0.4', '127.0.0.6']);
    expect(plan.maxPerAddressEndpoint).toBe(5_000);
  });

  it('counts the per-address limit per endpoint', () => {
    const two = ['ws://127.0.0.1:4320/v1/opamp', 'ws://127.0.0.1:4330/v1/opamp'];
    const plan = planSwarm({ agents: 40_000, workers: 3, addresses: ['127.0.0.2'], endpoints: two, rampPerSecond: 100 });
    expect(plan.maxPerAddressEndpoint).toBe(20_000);
    expect(() => planSwarm({ agents: 60_000, workers: 4, addresses: ['127.0.0.2'], endpoints: two, rampPerSecond: 100 })).toThrow(
      'exceed 25000',
    );
  });

  it('never plans more workers than agents and rejects nonsense', () => {
    expect(planSwarm({ agents: 2, workers: 8, endpoints: ws, rampPerSecond: 1 }).workers).toHaveLength(2);
    expect(() => planSwarm({ agents: 0, endpoints: ws, rampPerSecond: 1 })).toThrow('agents');
    expect(() => planSwarm({ agents: 10, endpoints: [], rampPerSecond: 1 })).toThrow('endpoint');
    expect(() => planSwarm({ agents: 10, endpoints: ws, rampPerSecond: 1, maxAgentsPerWorker: 30_000 })).toThrow('open-files');
  });
});

describe('addresses', () => {
  it('parses ranges and lists and skips .0/.255 when counting up', () => {
    expect(parseAddressList('127.0.0.2-127.0.0.4, 127.0.0.9')).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.9']);
    expect(() => parseAddressList('127.0.0.300')).toThrow('IPv4');
    expect(() => parseAddressList('127.0.0.5-127.0.0.4')).toThrow('backwards');
    expect(addressRange('127.0.0.253', 3)).toEqual(['127.0.0.253', '127.0.0.254', '127.0.1.1']);
  });
});
