/**
 * The monitoring the chart ships (deploy/helm/opamp-fleet/monitoring: Grafana
 * dashboards and the Prometheus alert rules), read for tests: the PromQL of
 * every panel, template variable and rule with where it is; the rules of
 * their shape (titles, datasources, annotations, severities); and the metric
 * names each app must export, by the name's namespace, checked against that
 * app's real registry in the app's own spec (apps cannot import each other).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { familyOf, promqlMetricNames, type MetricFamily } from './promql-metric-names';

/** The chart's monitoring folder: the one copy of dashboards and alerts. */
export const MONITORING_DIR = join(__dirname, '..', '..', '..', 'deploy', 'helm', 'opamp-fleet', 'monitoring');

export type MonitoredApp = 'gateway' | 'status-ingest' | 'config-service';

/** Who exports a metric, by its name: an app's namespace, every app's process metrics, or Prometheus itself. */
export function metricOwner(name: string): MonitoredApp | 'every-app' | 'prometheus' | null {
  if (name.startsWith('opamp_gateway_')) return 'gateway';
  if (name.startsWith('opamp_ingest_')) return 'status-ingest';
  if (name.startsWith('opamp_config_')) return 'config-service';
  // prom-client's default metrics, which every app collects
  if (name.startsWith('nodejs_') || name.startsWith('process_')) return 'every-app';
  // series Prometheus makes for each target
  if (name === 'up' || name.startsWith('scrape_')) return 'prometheus';
  return null;
}

interface Target {
  expr?: string;
}
interface Panel {
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name?: string;
  type?: string;
  query?: string | { query?: string };
  datasource?: { uid?: string } | string | null;
}
export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}
interface Rule {
  alert?: string;
  record?: string;
  expr?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RulesFile {
  groups?: Array<{ name?: string; rules?: Rule[] }>;
}

export interface Monitoring {
  /** file name → dashboard */
  readonly dashboards: ReadonlyMap<string, Dashboard>;
  readonly rules: RulesFile;
}

export function loadMonitoring(dir = MONITORING_DIR): Monitoring {
  const dashboardDir = join(dir, 'dashboards');
  const files = readdirSync(dashboardDir).filter((f) => f.endsWith('.json')).sort();
  const dashboards = new Map(files.map((f) => [f, JSON.parse(readFileSync(join(dashboardDir, f), 'utf8')) as Dashboard]));
  return { dashboards, rules: parse(readFileSync(join(dir, 'alerts.yaml'), 'utf8')) as RulesFile };
}

/** Where an expression is, for messages: `fleet.json: panel "Connections"`. */
export interface Expression {
  readonly where: string;
  readonly expr: string;
}

function panelsOf(panels: readonly Panel[] = []): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels)]);
}

/** The PromQL of a query variable: `label_values(<selector>, label)` → the selector; `query_result(<expr>)` → expr. */
export function variableExpression(query: string): string | null {
  const q = query.trim();
  const call = /^(label_values|query_result)\s*\(([\s\S]*)\)$/.exec(q);
  if (!call) return /^(label_names|metrics)\s*\(/.test(q) ? null : q;
  if (call[1] === 'query_result') return call[2];
  // label_values(label) has no selector; label_values(selector, label) ends in the label
  const args = call[2];
  const comma = args.lastIndexOf(',');
  return comma < 0 ? null : args.slice(0, comma);
}

export function monitoringExpressions(m: Monitoring): Expression[] {
  const out: Expression[] = [];
  for (const [file, d] of m.dashboards) {
    for (const p of panelsOf(d.panels)) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${file}: panel "${p.title ?? '?'}"`, expr: t.expr });
    }
    for (const v of d.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const expr = variableExpression(query);
      if (expr) out.push({ where: `${file}: variable $${v.name ?? '?'}`, expr });
    }
  }
  for (const g of m.rules.groups ?? []) {
    for (const r of g.rules ?? []) if (r.expr) out.push({ where: `alerts.yaml: ${r.alert ? `alert ${r.alert}` : `record ${r.record ?? '?'}`}`, expr: r.expr });
  }
  return out;
}

/** Every metric name the monitoring reads → where. */
export function monitoredMetricNames(m: Monitoring): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const { where, expr } of monitoringExpressions(m)) {
    for (const n of promqlMetricNames(expr)) names.set(n, [...(names.get(n) ?? []), where]);
  }
  return names;
}

/** Names `app` must export (its namespace and the process metrics) that `families` do not hold, each with where it is read. */
export function missingMetrics(m: Monitoring, app: MonitoredApp, families: readonly MetricFamily[]): string[] {
  return [...monitoredMetricNames(m)]
    .filter(([name]) => {
      const owner = metricOwner(name);
      return (owner === app || owner === 'every-app') && !familyOf(name, families);
    })
    .map(([name, where]) => `${name} (${[...new Set(where)].join('; ')})`);
}

/** The metric families of a prom-client Registry (structurally: libs/testing needs no prom-client). */
export async function registryFamilies(registry: { getMetricsAsJSON(): Promise<Array<{ name: string; type: unknown }>> }): Promise<MetricFamily[]> {
  return (await registry.getMetricsAsJSON()).map((f) => ({ name: f.name, type: String(f.type) }));
}

const DATASOURCE_VARIABLE = '${datasource}';

/**
 * What a dashboard or rule lacks: every panel a title, every non-row panel and
 * its targets the datasource variable, every dashboard a `datasource`
 * variable, uid and title; every alert summary and description annotations
 * and a severity label; every name in some app's namespace.
 */
export function monitoringProblems(m: Monitoring): string[] {
  const problems: string[] = [];
  const uids = new Set<string>();
  for (const [file, d] of m.dashboards) {
    if (!d.title) problems.push(`${file}: no title`);
    if (!d.uid) problems.push(`${file}: no uid`);
    else if (uids.has(d.uid)) problems.push(`${file}: uid ${d.uid} used by another dashboard`);
    else uids.add(d.uid);
    const variables = d.templating?.list ?? [];
    if (!variables.some((v) => v.name === 'datasource' && v.type === 'datasource')) problems.push(`${file}: no datasource variable`);
    for (const v of variables) {
      if (v.type === 'query' && uidOf(v.datasource) !== DATASOURCE_VARIABLE) problems.push(`${file}: variable $${v.name ?? '?'}: datasource is not ${DATASOURCE_VARIABLE}`);
    }
    const panels = panelsOf(d.panels);
    if (panels.length === 0) problems.push(`${file}: no panels`);
    for (const p of panels) {
      const name = `${file}: panel "${p.title ?? ''}"`;
      if (!p.title?.trim()) problems.push(`${file}: a ${p.type ?? 'panel'} without a title`);
      if (p.type === 'row') continue;
      if (uidOf(p.datasource) !== DATASOURCE_VARIABLE) problems.push(`${name}: datasource is not ${DATASOURCE_VARIABLE}`);
      if (!p.targets?.length) problems.push(`${name}: no queries`);
      for (const t of p.targets ?? []) if (!t.expr?.trim()) problems.push(`${name}: a query without an expression`);
    }
  }
  const alerts = new Set<string>();
  for (const g of m.rules.groups ?? []) {
    if (!g.rules?.length) problems.push(`alerts.yaml: group ${g.name ?? '?'} has no rules`);
    for (const r of g.rules ?? []) {
      if (!r.alert) continue;
      const name = `alerts.yaml: alert ${r.alert}`;
      if (alerts.has(r.alert)) problems.push(`${name}: defined twice`);
      alerts.add(r.alert);
      if (!r.expr?.trim()) problems.push(`${name}: no expr`);
      if (!r.labels?.['severity']) problems.push(`${name}: no severity label`);
      for (const a of ['summary', 'description']) if (!r.annotations?.[a]?.trim()) problems.push(`${name}: no ${a} annotation`);
    }
  }
  if (alerts.size === 0) problems.push('alerts.yaml: no alerts');
  for (const [name, where] of monitoredMetricNames(m)) {
    if (metricOwner(name) === null) problems.push(`${name} is in no app's namespace (opamp_gateway_, opamp_ingest_, opamp_config_, nodejs_, process_) (${[...new Set(where)].join('; ')})`);
  }
  return problems;
}

function uidOf(ds: Panel['datasource']): string | undefined {
  return typeof ds === 'string' ? ds : (ds?.uid ?? undefined);
}
