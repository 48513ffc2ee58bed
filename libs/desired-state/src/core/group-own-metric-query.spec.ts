import { batchIndexArgument, groupDefaultStart, groupOwnMetricStep, versionArgument } from './group-own-metric-query';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const H = 3_600_000;
const D = 24 * H;

describe("a group's own metrics", () => {
  it('sums per minute from the points and per 5 minutes from the rollups', () => {
    expect(groupOwnMetricStep({ source: 'points' })).toBe(60_000);
    expect(groupOwnMetricStep({ source: 'rollups' })).toBe(300_000);
  });

  it('starts an hour before the change by default, no earlier than 31 days before the end', () => {
    expect(groupDefaultStart(NOW - 2 * H, NOW)).toBe(new Date(NOW - 3 * H).toISOString());
    expect(groupDefaultStart(NOW - 40 * D, NOW)).toBe(new Date(NOW - 31 * D).toISOString());
  });

  it('keeps the usual last hour when nothing changed yet', () => {
    expect(groupDefaultStart(null, NOW)).toBe('');
    expect(groupDefaultStart(NOW + 1_000, NOW)).toBe('');
  });

  it('refuses a negative batch index and a version below 1, naming the field', () => {
    expect(batchIndexArgument(0)).toBe(0);
    expect(() => batchIndexArgument(-1)).toThrow(/batch_index must be 0 or more, got -1/);
    expect(versionArgument(1)).toBe(1);
    expect(() => versionArgument(0)).toThrow(/version must be 1 or more, got 0/);
  });
});
