/**
 * Configurations: a named map of files, each update an immutable version.
 * A version's files are templates; rendering them for one agent gives the
 * AgentConfigMap that is sent, and its configHash() is the remote-config
 * hash the agent reports back.
 */
import { configHash } from '@opamp/protocol';
import { invalidArgument } from './errors';
import { MAX_TEMPLATE_VARIABLES } from './limits';
import { agentValues, isTemplate, placeholderValues, renderText, scanVariables, TemplateError, type TemplateContext, type VariableUse, type VariableValues } from './template';
import {
  availableComponentTypes,
  isYamlFile,
  missingComponents,
  validateFiles,
  type ConfigFileInput,
  type ConfigFiles,
  type ConfigFormat,
} from './validation';
import { compileYamlTemplate, renderYaml, type Piece } from './yaml-template';

export interface ConfigurationVersion {
  readonly tenantId: string;
  readonly name: string;
  readonly version: number;
  readonly format: ConfigFormat;
  readonly files: ConfigFiles;
  /** configHash of the files as stored (unrendered): identifies the version's content. */
  readonly contentHash: Buffer;
  /** True when any file uses a template variable (the rendered hash then differs per agent). */
  readonly templated: boolean;
}

export const CONFIG_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function checkResourceName(name: string, what: string): void {
  if (typeof name !== 'string' || !CONFIG_NAME.test(name)) {
    throw invalidArgument(
      `${what} name ${JSON.stringify(name)} is invalid: 1-63 characters, lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
    );
  }
}

export function filesToConfigMap(files: ConfigFiles): { configMap: Record<string, { body: Buffer; contentType: string }> } {
  const configMap: Record<string, { body: Buffer; contentType: string }> = {};
  for (const name of Object.keys(files).sort()) {
    configMap[name] = { body: Buffer.from(files[name].body, 'utf8'), contentType: files[name].contentType };
  }
  return { configMap };
}

export function hashFiles(files: ConfigFiles): Buffer {
  return configHash(filesToConfigMap(files));
}

/** A file ready to render: YAML by scalar (yaml-template.ts), anything else as text. */
type CompiledFile = { readonly as: string } & (
  | { readonly kind: 'yaml'; readonly pieces: readonly Piece[]; readonly variables: number }
  | { readonly kind: 'text'; readonly uses: readonly VariableUse[]; readonly variables: number }
  /** YAML that does not parse even with harmless values: rendering it could let a value complete its structure. */
  | { readonly kind: 'unparsable'; readonly uses: readonly VariableUse[]; readonly variables: number }
);

// Compiled once per stored file object (versions are immutable and the reconciler keeps them), rendered per agent.
const compiled = new WeakMap<ConfigFileInput, CompiledFile>();

/** Throws TemplateError for a malformed or misplaced variable. */
function compileFile(name: string, file: ConfigFileInput, format: ConfigFormat): CompiledFile {
  const as = `${format}\n${name}`; // what the compiled form depends on besides the body
  const hit = compiled.get(file);
  if (hit?.as === as) return hit;
  let out: CompiledFile;
  if (!isYamlFile(name, file.contentType, format)) {
    const uses = scanVariables(name, file.body);
    out = { as, kind: 'text', uses, variables: uses.length };
  } else {
    const yaml = compileYamlTemplate(name, file.body);
    out = yaml.ok ? { as, kind: 'yaml', pieces: yaml.pieces, variables: yaml.variables } : { as, kind: 'unparsable', uses: scanVariables(name, file.body), variables: yaml.variables };
  }
  compiled.set(file, out);
  return out;
}

function renderFile(name: string, file: ConfigFileInput, c: CompiledFile, values: VariableValues): string {
  if (c.kind === 'yaml') return renderYaml(name, c.pieces, values);
  return renderText(name, file.body, c.uses, values);
}

function tooManyVariables(count: number): string | null {
  return count > MAX_TEMPLATE_VARIABLES
    ? `the configuration uses ${count} template variables; the limit is ${MAX_TEMPLATE_VARIABLES} (render time grows with each one, for every agent)`
    : null;
}

/**
 * Checks a configuration before it is stored: template syntax and placement,
 * the variable limit, then the structure with every variable replaced by a
 * neutral placeholder. Returns the error messages (empty = valid).
 */
export function validateConfiguration(files: ConfigFiles, format: ConfigFormat): string[] {
  const errors: string[] = [];
  const compiledFiles = new Map<string, CompiledFile>();
  let variables = 0;
  for (const name of Object.keys(files)) {
    const f = files[name];
    if (typeof f?.body !== 'string') continue; // validateFiles names it
    try {
      const c = compileFile(name, f, format);
      compiledFiles.set(name, c);
      variables += c.variables;
    } catch (err) {
      if (err instanceof TemplateError) errors.push(err.message);
      else throw err;
    }
  }
  const limit = tooManyVariables(variables);
  if (limit) errors.push(limit);
  if (errors.length > 0) return errors;
  const placeholders: Record<string, { body: string; contentType: string }> = {};
  for (const [name, f] of Object.entries(files)) {
    const c = compiledFiles.get(name);
    // An unparsable file renders as text here, so validateFiles reports where its YAML breaks.
    placeholders[name] = { body: c ? renderFile(name, f, c, placeholderValues) : f.body, contentType: f.contentType };
  }
  return validateFiles(placeholders, format).errors;
}

/** validateConfiguration for API input: any error becomes INVALID_ARGUMENT. */
export function requireValidConfiguration(files: ConfigFiles, format: ConfigFormat): void {
  const errors = validateConfiguration(files, format);
  if (errors.length > 0) throw invalidArgument(`invalid configuration: ${errors.join('; ')}`);
}

export function newVersion(tenantId: string, name: string, version: number, format: ConfigFormat, files: ConfigFiles): ConfigurationVersion {
  return {
    tenantId,
    name,
    version,
    format,
    files,
    contentHash: hashFiles(files),
    templated: Object.values(files).some((f) => isTemplate(f.body)),
  };
}

export interface AgentFacts extends TemplateContext {
  /** The agent's AvailableComponents map as stored (JSON), when it reported one. */
  readonly availableComponents?: unknown;
}

export type RenderOutcome =
  | { readonly ok: true; readonly files: ConfigFiles; readonly hash: Buffer }
  | { readonly ok: false; readonly reason: string };

/**
 * The configuration one agent should get, or why it cannot be sent: a
 * template error (unknown variable), an invalid rendered result, or a
 * component type the agent lacks.
 */
export function renderForAgent(version: ConfigurationVersion, agent: AgentFacts): RenderOutcome {
  let files: ConfigFiles = version.files;
  if (version.templated) {
    const out: Record<string, { body: string; contentType: string }> = {};
    const values = agentValues(agent);
    try {
      const compiledFiles = Object.entries(version.files).map(([name, f]) => ({ name, f, c: compileFile(name, f, version.format) }));
      const limit = tooManyVariables(compiledFiles.reduce((n, x) => n + x.c.variables, 0));
      if (limit) return { ok: false, reason: `template: ${limit}` };
      for (const { name, f, c } of compiledFiles) {
        if (c.kind === 'unparsable') return { ok: false, reason: `template: file '${name}' is not valid YAML, so its variables cannot be rendered safely` };
        out[name] = { body: renderFile(name, f, c, values), contentType: f.contentType };
      }
    } catch (err) {
      if (err instanceof TemplateError) return { ok: false, reason: `template: ${err.message}` };
      throw err;
    }
    files = out;
  }
  const needsModel = version.format === 'otel_collector';
  const available = needsModel ? availableComponentTypes(agent.availableComponents) : null;
  if (version.templated || available) {
    const result = validateFiles(files, version.format);
    if (result.errors.length > 0) return { ok: false, reason: `rendered configuration is invalid: ${result.errors.join('; ')}` };
    if (available && result.collector) {
      const missing = missingComponents(result.collector, available);
      if (missing.length > 0) return { ok: false, reason: `not sent: ${missing.join('; ')}` };
    }
  }
  return { ok: true, files, hash: version.templated ? hashFiles(files) : version.contentHash };
}
