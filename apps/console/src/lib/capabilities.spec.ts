import { capabilityNamesOf, customMessageGate, restartGate } from './capabilities';

describe('capabilities', () => {
  it('names the bits of a uint64 decimal string', () => {
    expect(capabilityNamesOf('1027')).toEqual(['ReportsStatus', 'AcceptsRemoteConfig', 'AcceptsRestartCommand']);
    expect(capabilityNamesOf(String(0x10000 | 1))).toEqual(['ReportsStatus', '0x10000']);
    expect(capabilityNamesOf('0')).toEqual([]);
    expect(capabilityNamesOf('not a number')).toEqual([]);
  });

  it('allows restart only with AcceptsRestartCommand, and says why not', () => {
    expect(restartGate({ capabilities: String(0x400) })).toEqual({ ok: true, reason: '' });
    expect(restartGate({ capabilities: '0', capabilityNames: ['ReportsStatus'] }).reason).toMatch(/AcceptsRestartCommand/);
    expect(restartGate({ capabilities: '0', capabilityNames: ['AcceptsRestartCommand'] }).ok).toBe(true);
  });

  it('allows custom messages only for declared custom capabilities', () => {
    expect(customMessageGate({ capabilities: '1', customCapabilities: [] }).reason).toMatch(/no custom capabilities/);
    expect(customMessageGate({ capabilities: '1', customCapabilities: ['io.example.ping'] }).ok).toBe(true);
    expect(customMessageGate({ capabilities: '1', customCapabilities: ['io.example.ping'] }, 'io.example.other').reason).toMatch(/io\.example\.other/);
  });
});
