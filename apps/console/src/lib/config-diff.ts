/**
 * Desired against effective configuration, as the agent page shows it: which
 * file of one side goes with which of the other, and what the operator sent
 * that the agent does not run.
 *
 * Pairing: a Collector reports its effective configuration as one file with
 * an empty name while the server sends `collector.yaml`, so one file on each
 * side pair whatever their names; with several files on either side, files
 * pair by name.
 *
 * Semantic rule (YAML; the Collector re-marshals its configuration, so order,
 * quoting, comments and defaults it fills in are not differences):
 * - both sides are parsed (YAML 1.2 core schema, merge keys as yaml.v3 reads
 *   them); every path whose value the operator set is looked up on the
 *   effective side: absent is "missing", another value is "different";
 * - scalars compare as the Collector decodes them into its typed fields: a
 *   string and a number or boolean with the same text are equal ("4317" and
 *   4317, "true" and true), numbers by value (1.0 and 1), two Go durations by
 *   their length ("1m" and "1m0s");
 * - a key the operator left empty (`otlp:` or `otlp: {}`) is satisfied by any
 *   value there: it asks for the component with its defaults;
 * - lists compare by position;
 * - "[REDACTED]" on the effective side matches any scalar: the Collector hides
 *   opaque values (secrets) when it reports them, so they cannot be compared;
 * - keys only the agent has are "added by the agent" (defaults), secondary.
 * If either side is not YAML, the comparison falls back to a line diff and says why.
 */
import { parse } from 'yaml';
import { diffLines, type DiffLine } from './diff';

export type ConfigFileSet = Record<string, { body: string }>;

export interface ConfigFilePair {
  /** undefined: the desired configuration has no such file. */
  desiredName?: string;
  effectiveName?: string;
}

/** One desired file with one effective file whatever their names (a Collector names its single file ""); else by name. */
export function pairConfigFiles(desired: ConfigFileSet, effective: ConfigFileSet): ConfigFilePair[] {
  const d = Object.keys(desired).sort();
  const e = Object.keys(effective).sort();
  if (d.length === 1 && e.length === 1) return [{ desiredName: d[0], effectiveName: e[0] }];
  return [...new Set([...d, ...e])].sort().map((name) => ({ desiredName: name in desired ? name : undefined, effectiveName: name in effective ? name : undefined }));
}

export type PathPart = string | number;

export interface ConfigDifference {
  path: PathPart[];
  kind: 'missing' | 'different';
  desired: unknown;
  /** For "different": what the agent runs there. */
  effective?: unknown;
}

export interface AddedByAgent {
  path: PathPart[];
  value: unknown;
}

export type FileComparison =
  | { mode: 'semantic'; differences: ConfigDifference[]; addedByAgent: AddedByAgent[] }
  | { mode: 'text'; reason: string; lines: DiffLine[]; added: number; removed: number };

/** Shown by the Collector in place of opaque values (configopaque). */
export const REDACTED = '[REDACTED]';

type Yaml = unknown;

function isMap(v: Yaml): v is Record<string, Yaml> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DURATION = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))*$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go time.Duration string in nanoseconds, else undefined. */
function durationNs(s: string): number | undefined {
  if (!DURATION.test(s)) return undefined;
  let ns = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) ns += Number(m[1]) * UNIT_NS[m[2]];
  return ns;
}

function sameScalar(desired: Yaml, effective: Yaml): boolean {
  if (desired === effective) return true;
  if (effective === REDACTED && desired !== null && typeof desired !== 'object') return true;
  const scalar = (v: Yaml) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (!scalar(desired) || !scalar(effective)) return false;
  if (typeof desired === 'number' || typeof effective === 'number') {
    const a = typeof desired === 'string' ? (desired.trim() === '' ? NaN : Number(desired)) : Number(desired);
    const b = typeof effective === 'string' ? (effective.trim() === '' ? NaN : Number(effective)) : Number(effective);
    if (typeof desired !== 'boolean' && typeof effective !== 'boolean' && a === b) return true;
  }
  if (String(desired) === String(effective)) return true;
  if (typeof desired === 'string' && typeof effective === 'string') {
    const a = durationNs(desired);
    return a !== undefined && a === durationNs(effective);
  }
  return false;
}

function collectAdded(value: Yaml, path: PathPart[], out: AddedByAgent[]): void {
  out.push({ path, value });
}

function compareValues(desired: Yaml, effective: Yaml, path: PathPart[], diffs: ConfigDifference[], added: AddedByAgent[]): void {
  // Left empty by the operator: the component (or section) with its defaults.
  if (desired === null || (isMap(desired) && Object.keys(desired).length === 0)) {
    if (isMap(effective)) for (const k of Object.keys(effective)) collectAdded(effective[k], [...path, k], added);
    return;
  }
  if (isMap(desired)) {
    if (!isMap(effective)) {
      diffs.push({ path, kind: 'different', desired, effective });
      return;
    }
    for (const k of Object.keys(desired)) {
      if (!(k in effective)) diffs.push({ path: [...path, k], kind: 'missing', desired: desired[k] });
      else compareValues(desired[k], effective[k], [...path, k], diffs, added);
    }
    for (const k of Object.keys(effective)) if (!(k in desired)) collectAdded(effective[k], [...path, k], added);
    return;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(effective)) {
      diffs.push({ path, kind: 'different', desired, effective });
      return;
    }
    desired.forEach((v, i) => {
      if (i >= effective.length) diffs.push({ path: [...path, i], kind: 'missing', desired: v });
      else compareValues(v, effective[i], [...path, i], diffs, added);
    });
    for (let i = desired.length; i < effective.length; i++) collectAdded(effective[i], [...path, i], added);
    return;
  }
  if (!sameScalar(desired, effective)) diffs.push({ path, kind: 'different', desired, effective });
}

function parseYaml(text: string): { ok: true; value: Yaml } | { ok: false; error: string } {
  try {
    // yaml.v3, the Collector's parser, reads merge keys (<<).
    return { ok: true, value: parse(text, { merge: true }) as Yaml };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

/** What the operator set (desired) that the agent does not run (effective), by the rule in this file's top comment. */
export function compareConfigFile(desired: string, effective: string): FileComparison {
  const d = parseYaml(desired);
  const e = parseYaml(effective);
  if (!d.ok || !e.ok) {
    const reason = !d.ok ? `the desired file is not YAML (${d.error})` : `the effective file is not YAML (${(e as { error: string }).error})`;
    const lines = diffLines(effective, desired);
    return { mode: 'text', reason, lines, added: lines.filter((l) => l.kind === 'add').length, removed: lines.filter((l) => l.kind === 'del').length };
  }
  const differences: ConfigDifference[] = [];
  const addedByAgent: AddedByAgent[] = [];
  compareValues(d.value, e.value, [], differences, addedByAgent);
  return { mode: 'semantic', differences, addedByAgent };
}

/** `receivers.otlp.protocols.grpc.endpoint`, `service.pipelines.traces.receivers[0]`; keys with dots, brackets or spaces quoted. */
export function formatPath(path: readonly PathPart[]): string {
  if (path.length === 0) return '(whole file)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[^.\s[\]"]+$/.test(p) ? `${i > 0 ? '.' : ''}${p}` : `${i > 0 ? '.' : ''}${JSON.stringify(p)}`))
    .join('');
}

/** A value on one line, for the list of differences (maps and lists as flow YAML-like JSON). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
