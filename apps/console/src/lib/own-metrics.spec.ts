import {
  agentTotals,
  change,
  changesAround,
  changesBetween,
  changeText,
  chartData,
  FAILURES,
  formatValue,
  groupTotals,
  latestValue,
  QUEUE,
  rangeQuery,
  THROUGHPUT,
  type AgentOwnSeries,
  type GroupOwnSeries,
} from './own-metrics';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const S = 10_000;
const pts = (values: [number, number][]) => values.map(([dt, value]) => ({ timeUnixMs: String(T0 + dt), value, max: value }));
const agentSeries = (kind: string, component: string, values: [number, number][], signal = 'spans'): AgentOwnSeries => ({ kind, component, signal, points: pts(values) });
const group = (kind: string, values: [number, number, number][]): GroupOwnSeries => ({
  kind,
  signal: 'spans',
  points: values.map(([dt, sum, agents]) => ({ timeUnixMs: T0 + dt, sum, max: sum, agents })),
});

describe('own-metric ranges', () => {
  it('asks for the range ending now', () => {
    expect(rangeQuery('1h', T0)).toEqual({ startTime: new Date(T0 - 3_600_000).toISOString(), endTime: new Date(T0).toISOString() });
    expect(rangeQuery('30d', T0).startTime).toBe(new Date(T0 - 30 * 86_400_000).toISOString());
  });
});

describe("an agent's series on one time axis", () => {
  it('sums components per bucket, a component read twice in one bucket averaged', () => {
    const totals = agentTotals([agentSeries('exporter_sent', 'otlp', [[0, 10], [5_000, 20], [S, 30]]), agentSeries('exporter_sent', 'debug', [[2_000, 1]])], S);
    expect([...totals.get('exporter_sent')!.entries()]).toEqual([
      [T0, { total: 16, agents: 1 }],
      [T0 + S, { total: 30, agents: 1 }],
    ]);
  });

  it('draws each line over the buckets any has a value in, null where one has none', () => {
    const totals = agentTotals([agentSeries('receiver_accepted', 'otlp', [[0, 100], [S, 110]]), agentSeries('exporter_sent', 'otlp', [[S, 90]])], S);
    expect(chartData(THROUGHPUT, totals, S)).toEqual({ x: [T0 / 1000, (T0 + S) / 1000], ys: [[100, 110], [null, 90]] });
  });

  it('breaks the line where the agent stopped reporting for more than three steps', () => {
    const totals = agentTotals([agentSeries('exporter_sent', 'otlp', [[0, 1], [S, 2], [10 * S, 3]])], S);
    const d = chartData(THROUGHPUT, totals, S);
    expect(d.x).toEqual([T0, T0 + S, T0 + 2 * S, T0 + 10 * S].map((t) => t / 1000));
    expect(d.ys[1]).toEqual([1, 2, null, 3]);
  });

  it("counts processors' drops in either naming: dropped items, or incoming minus outgoing (never below zero)", () => {
    const older = agentTotals([agentSeries('processor_dropped', 'batch', [[0, 4]])], S);
    expect(chartData(FAILURES, older, S).ys[2]).toEqual([4]);
    const newer = agentTotals([agentSeries('processor_incoming', 'batch', [[0, 100], [S, 50]]), agentSeries('processor_outgoing', 'batch', [[0, 97], [S, 60]])], S);
    expect(chartData(FAILURES, newer, S).ys[2]).toEqual([3, 0]);
  });

  it('gives queue fill as size over capacity in percent, summed over the queues of each signal', () => {
    const totals = agentTotals(
      [agentSeries('exporter_queue_size', 'otlp', [[0, 10]], 'spans'), agentSeries('exporter_queue_size', 'otlp', [[0, 30]], 'metric_points'), agentSeries('exporter_queue_capacity', 'otlp', [[0, 100]], 'spans'), agentSeries('exporter_queue_capacity', 'otlp', [[0, 100]], 'metric_points')],
      S,
    );
    expect(chartData(QUEUE, totals, S).ys[0]).toEqual([20]);
  });

  it('the latest value skips gaps', () => {
    expect(latestValue([1, 2, null])).toBe(2);
    expect(latestValue([null])).toBeNull();
  });
});

describe('units', () => {
  it.each([
    [1234.5, 'rate', '1.23k/s'],
    [0.5, 'rate', '0.5/s'],
    [42.25, 'rate', '42.3/s'],
    [3.5e6, 'rate', '3.5M/s'],
    [52_428_800, 'bytes', '50 MiB'],
    [512, 'bytes', '512 B'],
    [12.345, 'percent', '12.3 %'],
    [null, 'rate', '—'],
  ] as const)('%p as %s is %s', (v, unit, text) => {
    expect(formatValue(v, unit)).toBe(text);
  });
});

describe('before and after a change', () => {
  it('compares the mean per agent: up 40 %', () => {
    const c = change('export failures', 1, 1.4, true);
    expect(c).toMatchObject({ direction: 'up', worse: true });
    expect(changeText('since v7', c)).toBe('since v7, export failures up 40 % (1/s → 1.4/s per agent)');
  });

  it('says unchanged within 1 %, new when there was none, none when both are zero, and what is missing', () => {
    expect(changeText('since v7', change('export failures', 100, 100.5, true))).toBe('since v7, export failures unchanged (100/s → 101/s per agent)');
    expect(changeText('since v7', change('export failures', 0, 2, true))).toBe('since v7, export failures up from none to 2/s per agent');
    expect(changeText('since v7', change('export failures', 0, 0, true))).toBe('since v7, no export failures before or after');
    expect(changeText('since v7', change('export failures', null, 2, true))).toBe('since v7, export failures: no data before');
    expect(change('throughput out', 100, 50, false)).toMatchObject({ direction: 'down', worse: true });
  });

  it("splits a batch's sums at its start, per agent (agents that did not report are not counted)", () => {
    const M = 60_000;
    const totals = groupTotals([[group('exporter_send_failed', [[-2 * M, 4, 2], [-M, 2, 1], [M, 6, 2], [2 * M, 8, 2]]), group('exporter_sent', [[-M, 100, 1], [M, 100, 2]])]], M);
    const [failures, , , out] = changesAround(totals, T0, T0 - 10 * M, T0 + 10 * M);
    // Before: 4/2 and 2/1, 2 per agent; after: 3 and 4, 3.5: up 75 %.
    expect(failures).toMatchObject({ before: 2, after: 3.5, direction: 'up' });
    expect(Math.round(failures.percent!)).toBe(75);
    expect(out).toMatchObject({ before: 100, after: 50, direction: 'down', worse: true });
  });

  it('compares the agents of two versions over the same range', () => {
    const M = 60_000;
    const v6 = groupTotals([[group('exporter_send_failed', [[0, 10, 10]])]], M);
    const v7 = groupTotals([[group('exporter_send_failed', [[0, 7, 5]])]], M);
    expect(changeText('since v7', changesBetween(v6, v7, T0 - M, T0 + M)[0])).toBe('since v7, export failures up 40 % (1/s → 1.4/s per agent)');
  });
});
