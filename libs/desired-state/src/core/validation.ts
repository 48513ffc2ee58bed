/**
 * Validation of configurations before they are stored or sent.
 *
 * - Every YAML file (content type text/yaml, application/yaml, application/x-yaml,
 *   or a .yaml/.yml name without a content type) must parse, as one document
 *   with unique keys.
 * - An OpenTelemetry Collector configuration (format OTEL_COLLECTOR) is the
 *   merge of its YAML files in file-name order (later maps merged into earlier
 *   ones, as the Collector merges several --config files). It must define
 *   `service.pipelines` with at least one pipeline; every pipeline needs
 *   receivers and exporters; every component a pipeline or service.extensions
 *   names must be defined in its section (receivers and exporters may also be
 *   connectors).
 * - Against an agent's reported available components (when it reported them):
 *   every component type the configuration uses must be available, or the
 *   configuration is not sent to that agent, with the reason.
 */
import { MAX_FILE_NAME, MAX_FILES, MAX_TOTAL_BYTES, MAX_YAML_ALIAS_COUNT } from './limits';
import { isMap as isYamlMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';

export type ConfigFormat = 'otel_collector' | 'generic';

export interface ConfigFileInput {
  readonly body: string;
  readonly contentType: string;
}

export type ConfigFiles = Readonly<Record<string, ConfigFileInput>>;


const YAML_TYPES = new Set(['text/yaml', 'application/yaml', 'application/x-yaml', 'text/x-yaml']);

export function isYamlFile(name: string, contentType: string, format: ConfigFormat): boolean {
  const ct = contentType.split(';')[0].trim().toLowerCase();
  if (ct) return YAML_TYPES.has(ct);
  return format === 'otel_collector' || /\.ya?ml$/i.test(name);
}

export const COMPONENT_KINDS = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

/** What a Collector configuration defines and uses, by component id (`type` or `type/name`). */
export interface CollectorModel {
  readonly defined: Readonly<Record<ComponentKind, readonly string[]>>;
  /** Component ids used by pipelines and service.extensions, by the kind they must be. */
  readonly used: ReadonlyArray<{ kind: ComponentKind; id: string; where: string }>;
}

export interface ValidationResult {
  readonly errors: string[];
  readonly collector: CollectorModel | null;
}

type Json = unknown;

function isMap(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(into: Record<string, Json>, from: Record<string, Json>): Record<string, Json> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    into[k] = isMap(cur) && isMap(v) ? deepMerge({ ...cur }, v) : v;
  }
  return into;
}

function fileLabel(name: string): string {
  return `file '${name}'`;
}

/**
 * Offset of the first key that repeats a key of its map, or null. The `yaml`
 * package's own uniqueKeys check compares each key with every earlier one
 * (quadratic: 10,000 keys took seconds), so parsing runs without it and this
 * walk does the same check with one Set per map.
 */
function firstDuplicateKey(doc: Document): number | null {
  let found: number | null = null;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        // As the package compares: scalars by value, anything else by identity.
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(k)) {
          found = (isScalar(pair.key) || isYamlMap(pair.key) ? pair.key.range?.[0] : undefined) ?? map.range?.[0] ?? 0;
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}

/** Parses YAML bodies; returns the parsed values and the errors (file, line, message). */
function parseYamlFiles(files: ConfigFiles, format: ConfigFormat, errors: string[]): Array<{ name: string; value: Json }> {
  const parsed: Array<{ name: string; value: Json }> = [];
  for (const name of Object.keys(files).sort()) {
    const f = files[name];
    if (!isYamlFile(name, f.contentType, format)) continue;
    const lines = new LineCounter();
    const doc = parseDocument(f.body, { uniqueKeys: false, prettyErrors: true, lineCounter: lines });
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 3)) {
        const line = e.linePos?.[0]?.line;
        errors.push(`${fileLabel(name)}${line ? ` line ${line}` : ''}: YAML does not parse: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
      }
      continue;
    }
    const duplicate = firstDuplicateKey(doc);
    if (duplicate !== null) {
      errors.push(`${fileLabel(name)} line ${lines.linePos(duplicate).line}: YAML does not parse: Map keys must be unique`);
      continue;
    }
    let value: Json;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as Json;
    } catch (err) {
      // The package throws ReferenceError when aliases would expand past maxAliasCount ("billion laughs").
      if (!(err instanceof ReferenceError)) throw err;
      errors.push(`${fileLabel(name)}: YAML aliases expand too far (more than ${MAX_YAML_ALIAS_COUNT} nodes' worth of alias expansion); use fewer or smaller aliases`);
      continue;
    }
    parsed.push({ name, value });
  }
  return parsed;
}

function stringList(v: Json): string[] | null {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return null;
  return v as string[];
}

function collectorModel(merged: Record<string, Json>, errors: string[]): CollectorModel {
  const defined = {} as Record<ComponentKind, string[]>;
  for (const kind of COMPONENT_KINDS) {
    const section = merged[kind];
    if (section !== undefined && section !== null && !isMap(section)) {
      errors.push(`'${kind}' must be a map of component id to settings`);
      defined[kind] = [];
    } else defined[kind] = Object.keys(section ?? {});
  }
  const used: Array<{ kind: ComponentKind; id: string; where: string }> = [];
  const service = merged['service'];
  if (!isMap(service)) {
    errors.push("the 'service' section is missing: a Collector configuration needs service.pipelines");
    return { defined, used };
  }
  const extensions = stringList(service['extensions']);
  if (extensions === null) errors.push("'service.extensions' must be a list of extension ids");
  for (const id of extensions ?? []) used.push({ kind: 'extensions', id, where: 'service.extensions' });

  const pipelines = service['pipelines'];
  if (!isMap(pipelines) || Object.keys(pipelines).length === 0) {
    errors.push("'service.pipelines' must define at least one pipeline");
    return { defined, used };
  }
  for (const [pipelineId, pipeline] of Object.entries(pipelines)) {
    const where = `pipeline '${pipelineId}'`;
    if (!isMap(pipeline)) {
      errors.push(`${where} must be a map with receivers, processors and exporters`);
      continue;
    }
    for (const [role, kind] of [
      ['receivers', 'receivers'],
      ['processors', 'processors'],
      ['exporters', 'exporters'],
    ] as const) {
      const ids = stringList(pipeline[role]);
      if (ids === null) {
        errors.push(`${where}: '${role}' must be a list of component ids`);
        continue;
      }
      if (ids.length === 0 && role !== 'processors') errors.push(`${where} has no ${role}`);
      for (const id of ids) used.push({ kind, id, where: `${where} ${role}` });
    }
  }
  return { defined, used };
}

function checkReferences(model: CollectorModel, errors: string[]): void {
  // Sets, not Array.includes: a pipeline naming thousands of components is checked in linear time.
  const defined = new Map(COMPONENT_KINDS.map((kind) => [kind, new Set(model.defined[kind])]));
  const has = (kind: ComponentKind, id: string) => defined.get(kind)?.has(id) === true;
  for (const u of model.used) {
    const ok =
      has(u.kind, u.id) || ((u.kind === 'receivers' || u.kind === 'exporters') && has('connectors', u.id));
    if (!ok) errors.push(`${u.where} uses ${singular(u.kind)} '${u.id}', which is not defined in '${u.kind}'`);
  }
}

function singular(kind: ComponentKind): string {
  return kind.slice(0, -1);
}

/** Structural checks of a set of files (rendered or placeholder-rendered). */
export function validateFiles(files: ConfigFiles, format: ConfigFormat): ValidationResult {
  const errors: string[] = [];
  const names = Object.keys(files);
  if (names.length === 0) errors.push('a configuration needs at least one file');
  if (names.length > MAX_FILES) errors.push(`a configuration has at most ${MAX_FILES} files, got ${names.length}`);
  let total = 0;
  for (const name of names) {
    if (name.length > MAX_FILE_NAME) errors.push(`file name longer than ${MAX_FILE_NAME} characters: '${name.slice(0, 40)}...'`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(name)) errors.push(`file name ${JSON.stringify(name)} contains control characters`);
    const f = files[name];
    if (typeof f.body !== 'string') errors.push(`${fileLabel(name)}: body must be text`);
    total += Buffer.byteLength(f.body ?? '', 'utf8');
  }
  if (total > MAX_TOTAL_BYTES) errors.push(`the files total ${total} bytes; the limit is ${MAX_TOTAL_BYTES}`);
  if (errors.length > 0) return { errors, collector: null };

  const yamlErrors: string[] = [];
  const parsed = parseYamlFiles(files, format, yamlErrors);
  errors.push(...yamlErrors);
  if (format !== 'otel_collector' || yamlErrors.length > 0) return { errors, collector: null };

  let merged: Record<string, Json> = {};
  for (const { name, value } of parsed) {
    if (value === null || value === undefined) continue;
    if (!isMap(value)) {
      errors.push(`${fileLabel(name)}: a Collector configuration file must be a YAML map at the top level`);
      continue;
    }
    merged = deepMerge(merged, value);
  }
  if (errors.length > 0) return { errors, collector: null };
  const collector = collectorModel(merged, errors);
  checkReferences(collector, errors);
  return { errors, collector };
}

/** Component types an agent reported as available, by kind; null when it reported none we understand. */
export type AvailableComponentTypes = ReadonlyMap<ComponentKind, ReadonlySet<string>>;

/**
 * Reads the AvailableComponents map as status-ingest stores it (the
 * `components` map as JSON: kind -> { subComponentMap: type -> details }).
 */
export function availableComponentTypes(components: unknown): AvailableComponentTypes | null {
  if (!isMap(components)) return null;
  const out = new Map<ComponentKind, Set<string>>();
  for (const kind of COMPONENT_KINDS) {
    const entry = components[kind];
    if (!isMap(entry)) continue;
    const sub = entry['subComponentMap'] ?? entry['sub_component_map'];
    out.set(kind, new Set(isMap(sub) ? Object.keys(sub) : []));
  }
  return out.size > 0 ? out : null;
}

/** The type of a component id: `otlp/primary` -> `otlp`. */
export function componentType(id: string): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}

/**
 * Reasons a Collector configuration cannot run on an agent with these
 * available components (empty when it can). Every defined component counts,
 * since the Collector builds every component it finds configured.
 */
export function missingComponents(model: CollectorModel, available: AvailableComponentTypes): string[] {
  const reasons: string[] = [];
  for (const kind of COMPONENT_KINDS) {
    const have = available.get(kind) ?? new Set<string>();
    const missing = new Set<string>();
    for (const id of model.defined[kind]) if (!have.has(componentType(id))) missing.add(componentType(id));
    for (const type of [...missing].sort()) reasons.push(`the agent has no ${singular(kind)} of type '${type}'`);
  }
  return reasons;
}
