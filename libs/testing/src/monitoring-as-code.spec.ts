import { loadMonitoring, missingMetrics, monitoredMetricNames, monitoringExpressions, monitoringProblems, variableExpression, type Monitoring } from './monitoring-as-code';

interface LoosePanel {
  type: string;
  title: string;
  datasource?: unknown;
  targets: Array<{ expr: string }>;
}
interface LooseDashboard {
  panels: LoosePanel[];
  templating: { list: Array<{ name: string }> };
}

/** A deep copy of the chart's monitoring, to break one thing in; d(): its fleet dashboard. */
function copy(): { m: Monitoring; d: () => LooseDashboard } {
  const real = loadMonitoring();
  const m: Monitoring = { dashboards: new Map([...real.dashboards].map(([f, d]) => [f, structuredClone(d)])), rules: structuredClone(real.rules) };
  return { m, d: () => m.dashboards.get('fleet.json') as unknown as LooseDashboard };
}

const first = (panels: LoosePanel[], type: string): LoosePanel => {
  const p = panels.find((x) => x.type === type);
  if (!p) throw new Error(`no ${type} panel`);
  return p;
};

describe('the chart monitoring (dashboards and alert rules)', () => {
  const m = loadMonitoring();

  it('has the fleet, pipeline and rollouts dashboards and alert rules, every query of them read', () => {
    expect([...m.dashboards.keys()]).toEqual(['fleet.json', 'pipeline.json', 'rollouts.json']);
    const exprs = monitoringExpressions(m);
    for (const file of ['fleet.json', 'pipeline.json', 'rollouts.json', 'alerts.yaml']) expect(exprs.filter((e) => e.where.startsWith(file)).length).toBeGreaterThan(5);
    expect(monitoredMetricNames(m).size).toBeGreaterThan(40);
  });

  it('holds every rule of shape: titles, the datasource variable, summary, description and severity, names in an app namespace', () => {
    expect(monitoringProblems(m)).toEqual([]);
  });
});

describe('monitoringProblems', () => {
  it('names a panel without a datasource or a title', () => {
    const { m, d } = copy();
    const panels = d().panels;
    const stat = first(panels, 'stat');
    delete stat.datasource;
    first(panels, 'timeseries').title = '';
    expect(monitoringProblems(m)).toEqual([`fleet.json: panel "${stat.title}": datasource is not \${datasource}`, 'fleet.json: a timeseries without a title']);
  });

  it('names an alert without severity, summary or description', () => {
    const { m } = copy();
    const rule = m.rules.groups?.[0].rules?.[0];
    if (!rule?.labels || !rule.annotations) throw new Error('the first rule has labels and annotations');
    delete rule.labels['severity'];
    delete rule.annotations['summary'];
    rule.annotations['description'] = ' ';
    expect(monitoringProblems(m)).toEqual([
      `alerts.yaml: alert ${rule.alert}: no severity label`,
      `alerts.yaml: alert ${rule.alert}: no summary annotation`,
      `alerts.yaml: alert ${rule.alert}: no description annotation`,
    ]);
  });

  it('names a metric in no app namespace, with where it is read', () => {
    const { m } = copy();
    const rule = m.rules.groups?.[0].rules?.[1];
    if (!rule) throw new Error('two rules');
    rule.expr = 'kafka_consumergroup_lag > 1000';
    expect(monitoringProblems(m)).toEqual([
      `kafka_consumergroup_lag is in no app's namespace (opamp_gateway_, opamp_ingest_, opamp_config_, nodejs_, process_) (alerts.yaml: alert ${rule.alert})`,
    ]);
  });

  it('names a dashboard without the datasource variable', () => {
    const { m, d } = copy();
    d().templating.list = d().templating.list.filter((v) => v.name !== 'datasource');
    expect(monitoringProblems(m)).toContain('fleet.json: no datasource variable');
  });
});

describe('missingMetrics', () => {
  it('names what the app does not register, with where, and accepts the series of its histograms', () => {
    const { m, d } = copy();
    first(d().panels, 'timeseries').targets[0].expr = 'sum(opamp_gateway_conections)';
    const families = [
      { name: 'opamp_gateway_inbound_produce_seconds', type: 'histogram' },
      { name: 'nodejs_eventloop_lag_p99_seconds', type: 'gauge' },
    ];
    const missing = missingMetrics(m, 'gateway', families);
    expect(missing).toContainEqual('opamp_gateway_conections (fleet.json: panel "Connections per gateway")');
    expect(missing.some((n) => n.startsWith('opamp_gateway_inbound_produce_seconds'))).toBe(false);
    expect(missing.some((n) => n.startsWith('opamp_ingest_'))).toBe(false);
    expect(missing.some((n) => n.startsWith('process_cpu_seconds_total'))).toBe(true);
  });
});

describe('variableExpression', () => {
  it.each([
    ['label_values(opamp_gateway_connections, gateway)', 'opamp_gateway_connections'],
    ['label_values(up{job=~"a,b"}, instance)', 'up{job=~"a,b"}'],
    ['label_values(job)', null],
    ['query_result(sum by (gateway) (x))', 'sum by (gateway) (x)'],
    ['label_names()', null],
    ['metrics(opamp_.*)', null],
    ['sum(x)', 'sum(x)'],
  ])('%s', (query, expr) => {
    expect(variableExpression(query)).toBe(expr);
  });
});
