import { familyOf, promqlMetricNames, PromqlSyntaxError } from './promql-metric-names';

describe('promqlMetricNames', () => {
  it.each([
    ['histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))', ['x_bucket']],
    ['absent(up{job="gateway"})', ['up']],
    ['a / on(tenant) b', ['a', 'b']],
    ['sum(rate(a_total[$__rate_interval])) by (gateway, kind)', ['a_total']],
    ['sum without (instance) (b) / ignoring(code) group_left c', ['b', 'c']],
    ['x * on (job) group_left (version) y', ['x', 'y']],
    ['a > bool 0 and b unless c or d', ['a', 'b', 'c', 'd']],
    ['rate(a[5m] offset -1h30m) @ start()', ['a']],
    ['max_over_time(deriv(lag[10m:1m])[1h:])', ['lag']],
    ['label_replace(m, "dst", "$1 sum(fake)", "src", "(.*)")', ['m']],
    ["count_values('version', build_info{version=~'1\\\\..*'})", ['build_info']],
    ['topk(5, sum by (reason) (increase(r_total{reason!="by (x)", gateway=~"$gateway"}[1h])))', ['r_total']],
    ['{__name__="opamp_x", job="a"} + 1e-3 * 0x1f', ['opamp_x']],
    ['sum(a{gateway=~"${gateway:regex}"}) / clamp_min(sum(a), 1)', ['a']],
    ['SUM BY (le) (x) AND ON(a) y', ['x', 'y']],
    ['count(a) > 0 # a comment naming fake_metric', ['a']],
    ['nodejs_eventloop_lag_p99_seconds > Inf or NaN', ['nodejs_eventloop_lag_p99_seconds']],
    ['deriv(x[10m]) > 0 and x > 1000', ['x']],
    ['ratio:metric:rate5m', ['ratio:metric:rate5m']],
  ])('%s', (expr, names) => {
    expect(promqlMetricNames(expr)).toEqual(names);
  });

  it('refuses an unclosed bracket or string instead of guessing', () => {
    expect(() => promqlMetricNames('sum(rate(x[5m)')).toThrow(PromqlSyntaxError);
    expect(() => promqlMetricNames('x{job="a}')).toThrow(PromqlSyntaxError);
  });
});

describe('familyOf', () => {
  const families = [
    { name: 'h_seconds', type: 'histogram' },
    { name: 'c_total', type: 'counter' },
    { name: 'bare', type: 'counter' },
    { name: 'g', type: 'gauge' },
    { name: 's', type: 'summary' },
  ];
  it.each([
    ['h_seconds_bucket', 'h_seconds'],
    ['h_seconds_sum', 'h_seconds'],
    ['h_seconds_count', 'h_seconds'],
    ['c_total', 'c_total'],
    ['bare_total', 'bare'],
    ['s_count', 's'],
    ['g', 'g'],
  ])('%s is a series of %s', (series, family) => {
    expect(familyOf(series, families)?.name).toBe(family);
  });
  it.each(['g_bucket', 'g_total', 'c_total_total', 'h_seconds_total', 'bare_bucket', 'missing', 'h'])('%s is no series of them', (series) => {
    expect(familyOf(series, families)).toBeNull();
  });
});
