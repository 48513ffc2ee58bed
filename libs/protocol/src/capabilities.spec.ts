import {
  AGENT_CAPABILITIES_MASK,
  AgentCapabilities,
  AgentToServerFlags,
  capabilityNames,
  effectiveCapabilities,
  expectsReport,
  hasCapability,
  mayOffer,
  Offer,
  sanitizeServerCapabilities,
  SERVER_CAPABILITIES_MASK,
  ServerCapabilities,
  ServerToAgentFlags,
} from './capabilities';
import { opamp } from './opamp-schema';

const v1 = opamp.proto.v1;

describe('bit constants', () => {
  it('agree with the generated protobuf enums, name by name', () => {
    for (const [name, bit] of Object.entries(AgentCapabilities)) {
      expect((v1.AgentCapabilities as unknown as Record<string, number>)[`AgentCapabilities_${name}`]).toBe(bit);
    }
    for (const [name, bit] of Object.entries(ServerCapabilities)) {
      expect((v1.ServerCapabilities as unknown as Record<string, number>)[`ServerCapabilities_${name}`]).toBe(bit);
    }
    for (const [name, bit] of Object.entries(AgentToServerFlags)) {
      expect((v1.AgentToServerFlags as unknown as Record<string, number>)[`AgentToServerFlags_${name}`]).toBe(bit);
    }
    for (const [name, bit] of Object.entries(ServerToAgentFlags)) {
      expect((v1.ServerToAgentFlags as unknown as Record<string, number>)[`ServerToAgentFlags_${name}`]).toBe(bit);
    }
  });

  it('cover every non-zero enum value of the schema (nothing forgotten)', () => {
    const nonZero = (e: object) => Object.values(e).filter((v) => typeof v === 'number' && v !== 0).length;
    expect(Object.keys(AgentCapabilities).length).toBe(nonZero(v1.AgentCapabilities));
    expect(Object.keys(ServerCapabilities).length).toBe(nonZero(v1.ServerCapabilities));
  });

  it('masks are the OR of all defined bits', () => {
    expect(Object.values(AgentCapabilities).reduce((a, b) => a | b, 0)).toBe(AGENT_CAPABILITIES_MASK);
    expect(AGENT_CAPABILITIES_MASK).toBe(0xffff);
    expect(Object.values(ServerCapabilities).reduce((a, b) => a | b, 0)).toBe(SERVER_CAPABILITIES_MASK);
    expect(SERVER_CAPABILITIES_MASK).toBe(0x7f);
  });
});

describe('hasCapability', () => {
  it('requires every bit of a multi-bit mask', () => {
    expect(hasCapability(0x3, 0x3)).toBe(true);
    expect(hasCapability(0x1, 0x3)).toBe(false);
    expect(hasCapability(0, 0x1)).toBe(false);
    expect(hasCapability(undefined, 0x1)).toBe(false);
  });

  it('works with unknown high bits present (values above 2^32)', () => {
    const withHigh = 2 ** 40 + 0x2;
    expect(hasCapability(withHigh, AgentCapabilities.AcceptsRemoteConfig)).toBe(true);
    expect(hasCapability(withHigh, AgentCapabilities.ReportsStatus)).toBe(false);
  });
});

describe('capabilityNames', () => {
  it('names known bits lowest first and shows unknown bits as hex', () => {
    expect(capabilityNames(0x3003 | 0x80000)).toEqual([
      'ReportsStatus',
      'AcceptsRemoteConfig',
      'ReportsRemoteConfig',
      'ReportsHeartbeat',
      '0x80000',
    ]);
  });

  it('works for bits above 2^32 and for server capabilities', () => {
    expect(capabilityNames(2 ** 33 + 1)).toEqual(['ReportsStatus', '0x200000000']);
    expect(capabilityNames(0x7, ServerCapabilities)).toEqual(['AcceptsStatus', 'OffersRemoteConfig', 'AcceptsEffectiveConfig']);
    expect(capabilityNames(0)).toEqual([]);
  });
});

describe('effectiveCapabilities', () => {
  it('takes a reported value that includes ReportsStatus', () => {
    expect(effectiveCapabilities(0x3, 0x1)).toBe(0x1);
    expect(effectiveCapabilities(undefined, 0x3)).toBe(0x3);
  });

  it('keeps the previous value when the report is 0 (poll or heartbeat)', () => {
    expect(effectiveCapabilities(0x3, 0)).toBe(0x3);
    expect(effectiveCapabilities(0x3, undefined)).toBe(0x3);
    expect(effectiveCapabilities(0x3, null)).toBe(0x3);
  });

  it('keeps the previous value when ReportsStatus is missing', () => {
    expect(effectiveCapabilities(0x3003, 0x2)).toBe(0x3003);
  });

  it('uses whatever is reported when nothing is known yet', () => {
    expect(effectiveCapabilities(undefined, 0x6)).toBe(0x6);
    expect(effectiveCapabilities(undefined, 0)).toBe(0);
  });

  it('keeps unknown bits of a valid report (they are ignored by gating, not dropped)', () => {
    expect(effectiveCapabilities(0x1, 0x1 | 0x80000)).toBe(0x80001);
  });
});

describe('mayOffer', () => {
  const table: Array<[Offer, number]> = [
    ['remote_config', 0x2],
    ['packages_available', 0x8],
    ['connection_settings.own_traces', 0x20],
    ['connection_settings.own_metrics', 0x40],
    ['connection_settings.own_logs', 0x80],
    ['connection_settings.opamp', 0x100],
    ['connection_settings.other_connections', 0x200],
    ['command.restart', 0x400],
    ['heartbeat_interval_seconds', 0x2000],
    ['flag.report_available_components', 0x4000],
  ];

  it.each(table)('%s requires bit 0x%s', (offer, bit) => {
    expect(mayOffer(0x1 | bit, offer)).toBe(true);
    expect(mayOffer(AGENT_CAPABILITIES_MASK & ~bit, offer)).toBe(false);
  });

  it('allows nothing to an agent with unknown caps (0) and ignores unknown bits', () => {
    for (const [offer] of table) expect(mayOffer(0, offer)).toBe(false);
    expect(mayOffer(0x1 | 0x80000, 'remote_config')).toBe(false);
  });
});

describe('expectsReport', () => {
  it('follows the capability that promises each report', () => {
    expect(expectsReport(0x4, 'effective_config')).toBe(true);
    expect(expectsReport(0x800, 'health')).toBe(true);
    expect(expectsReport(0x1000, 'remote_config_status')).toBe(true);
    expect(expectsReport(0x10, 'package_statuses')).toBe(true);
    expect(expectsReport(0x4000, 'available_components')).toBe(true);
    expect(expectsReport(0x8000, 'connection_settings_status')).toBe(true);
    expect(expectsReport(0x1 | 0x2, 'remote_config_status')).toBe(false);
  });
});

describe('sanitizeServerCapabilities', () => {
  it('clears reserved bits', () => {
    expect(sanitizeServerCapabilities(0xff | 0x10000)).toBe(0x7f);
    expect(sanitizeServerCapabilities(0x7)).toBe(0x7);
  });
});
