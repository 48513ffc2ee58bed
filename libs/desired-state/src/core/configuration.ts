/**
 * Configurations: a named map of files, each update an immutable version.
 * A version's files are templates; rendering them for one agent gives the
 * AgentConfigMap that is sent, and its configHash() is the remote-config
 * hash the agent reports back.
 */
import { configHash } from '@opamp/protocol';
import { echo, invalidArgument } from './errors';
import { isTemplate, placeholderRender, renderTemplate, TemplateError, templateVariables, type TemplateContext } from './template';
import {
  availableComponentTypes,
  missingComponents,
  validateFiles,
  type ConfigFiles,
  type ConfigFormat,
} from './validation';

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
      `${what} name ${echo(name)} is invalid: 1-63 characters, lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
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

/**
 * Checks a configuration before it is stored: template syntax, then the
 * structure with every variable replaced by a placeholder. Returns the error
 * messages (empty = valid).
 */
export function validateConfiguration(files: ConfigFiles, format: ConfigFormat): string[] {
  const errors: string[] = [];
  for (const name of Object.keys(files)) {
    try {
      templateVariables(name, files[name]?.body ?? '');
    } catch (err) {
      if (err instanceof TemplateError) errors.push(err.message);
      else throw err;
    }
  }
  if (errors.length > 0) return errors;
  const placeholders: Record<string, { body: string; contentType: string }> = {};
  for (const [name, f] of Object.entries(files)) placeholders[name] = { body: placeholderRender(f.body), contentType: f.contentType };
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
    try {
      for (const [name, f] of Object.entries(version.files)) out[name] = { body: renderTemplate(name, f.body, agent), contentType: f.contentType };
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
