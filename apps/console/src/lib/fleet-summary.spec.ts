import { FleetSummary, NO_VALUE, selectorForLabel, totalsOf, type SummaryAgent } from './fleet-summary';

function agent(over: Partial<SummaryAgent>): SummaryAgent {
  return { labels: {}, connected: true, health: 'HEALTH_STATE_HEALTHY', inSync: true, configurationName: 'c', remoteConfigStatus: 'REMOTE_CONFIG_STATUS_APPLIED', ...over };
}

describe('fleet summary', () => {
  const agents = [
    agent({ labels: { env: 'prod', region: 'eu' } }),
    agent({ labels: { env: 'prod' }, health: 'HEALTH_STATE_UNHEALTHY', inSync: false, remoteConfigStatus: 'REMOTE_CONFIG_STATUS_FAILED' }),
    agent({ labels: { env: 'dev' }, connected: false, health: 'HEALTH_STATE_UNKNOWN', inSync: false, configurationName: '' }),
    agent({ labels: {}, inSync: false, remoteConfigStatus: 'REMOTE_CONFIG_STATUS_APPLYING' }),
  ];

  it('counts totals the way the ListAgents filters do', () => {
    expect(totalsOf(agents)).toEqual({
      agents: 4,
      connected: 3,
      disconnected: 1,
      healthy: 2,
      unhealthy: 1,
      healthUnknown: 1,
      inSync: 1,
      outOfSync: 3,
      unassigned: 1,
      configFailed: 1,
      configApplying: 1,
    });
  });

  it('breaks down by any label, with a row for agents without it', () => {
    const s = new FleetSummary();
    agents.forEach((a) => s.add(a));
    expect(s.keys()).toEqual(['env', 'region']);
    const env = s.breakdown('env');
    expect(env.map((r) => [r.value, r.totals.agents, r.totals.unhealthy])).toEqual([
      ['prod', 2, 1],
      ['dev', 1, 0],
      [NO_VALUE, 1, 0],
    ]);
    const region = s.breakdown('region');
    expect(region.map((r) => [r.value, r.totals.agents, r.totals.connected])).toEqual([
      ['eu', 1, 1],
      [NO_VALUE, 3, 2],
    ]);
    expect(s.breakdown('missing')).toEqual([{ value: NO_VALUE, totals: s.totals }]);
  });

  it('gives the selector of a breakdown row', () => {
    expect(selectorForLabel('env', 'prod')).toBe('env=prod');
    expect(selectorForLabel('env', NO_VALUE)).toBe('!env');
  });
});
