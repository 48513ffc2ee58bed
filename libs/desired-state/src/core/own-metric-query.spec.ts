import { DesiredStateError } from './errors';
import { gatherSeries, ownMetricGrouping, ownMetricKinds, ownMetricRange } from './own-metric-query';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const H = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();

describe('own-metric query ranges', () => {
  it('defaults to the last hour of 10 s points', () => {
    expect(ownMetricRange('', '', NOW)).toEqual({ startMs: NOW - H, endMs: NOW, source: 'points', stepMs: 10_000 });
  });

  it('reads points up to 24 h and 5-minute rollups beyond, up to 31 days', () => {
    expect(ownMetricRange(at(NOW - 24 * H), at(NOW), NOW).source).toBe('points');
    expect(ownMetricRange(at(NOW - 24 * H - 1_000), at(NOW), NOW)).toMatchObject({ source: 'rollups', stepMs: 300_000 });
    expect(ownMetricRange(at(NOW - 31 * 24 * H), at(NOW), NOW).source).toBe('rollups');
    expect(() => ownMetricRange(at(NOW - 31 * 24 * H - 1_000), at(NOW), NOW)).toThrow(/at most 31 days/);
  });

  it.each([
    ['yesterday', '', /start_time must be an RFC 3339 time/],
    ['', '2026-12-02', /end_time must be an RFC 3339 time/],
    [at(NOW), at(NOW), /start_time must be before end_time/],
    [at(NOW), at(NOW - H), /start_time must be before end_time/],
  ])('refuses start %j end %j', (start, end, message) => {
    let err: unknown;
    try {
      ownMetricRange(start, end, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DesiredStateError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  });
});

describe('own-metric kinds and grouping', () => {
  it('takes kinds as a list or comma-separated (REST), refuses what is not a kind', () => {
    expect(ownMetricKinds(undefined)).toEqual([]);
    expect(ownMetricKinds(['exporter_sent', 'exporter_sent', 'receiver_accepted'])).toEqual(['exporter_sent', 'receiver_accepted']);
    expect(ownMetricKinds('exporter_sent,process_memory_rss')).toEqual(['exporter_sent', 'process_memory_rss']);
    expect(() => ownMetricKinds(["x'; DROP TABLE agents"])).toThrow(/kinds must be series kinds/);
    expect(() => ownMetricKinds(Array.from({ length: 33 }, (_, i) => `k${'a'.repeat(i)}`))).toThrow(/at most 32/);
  });

  it('groups by configuration unless a label key is named', () => {
    expect(ownMetricGrouping('')).toEqual({ by: 'configuration' });
    expect(ownMetricGrouping('region')).toEqual({ by: 'label', key: 'region' });
    expect(() => ownMetricGrouping('a b')).toThrow(/group_by_label must be a label key/);
  });
});

describe('gathering rows into series', () => {
  it('keeps one series per kind, component and signal, in row order', () => {
    const rows = [
      { k: 'exporter_sent', c: 'otlp', t: 1 },
      { k: 'exporter_sent', c: 'otlp', t: 2 },
      { k: 'exporter_sent', c: 'debug', t: 1 },
      { k: 'process_memory_rss', c: '', t: 1 },
    ];
    const series = gatherSeries(rows, (r) => ({ kind: r.k, component: r.c, signal: '' }), (r) => r.t);
    expect(series).toEqual([
      { kind: 'exporter_sent', component: 'otlp', signal: '', points: [1, 2] },
      { kind: 'exporter_sent', component: 'debug', signal: '', points: [1] },
      { kind: 'process_memory_rss', component: '', signal: '', points: [1] },
    ]);
  });
});
