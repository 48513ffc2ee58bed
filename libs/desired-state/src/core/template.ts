/**
 * Configuration templates: file bodies rendered per agent from its attributes.
 *
 * Syntax:
 *
 *   ${attr:service.name}            the agent's attribute (identifying attributes
 *                                   win over non-identifying ones with the same key,
 *                                   exactly as for label selectors)
 *   ${attr:deployment.env:-dev}     the same, with a default when the agent lacks it
 *   ${agent:instance_uid}           the agent's instance uid as 32 lowercase hex digits
 *   $${attr:x}                      escaped: left as is (the OpenTelemetry Collector
 *                                   itself turns `$$` into `$`)
 *
 * Everything else, including the Collector's own `${env:X}` and `${X}`, passes
 * through untouched. Keys are letters, digits and `_ . - /`. A variable the
 * agent does not have (and has no default) is an error naming the variable,
 * the file and the line.
 */

export interface TemplateContext {
  /** Flattened attributes (the agent's labels). */
  readonly attributes: Readonly<Record<string, string>>;
  /** 32 lowercase hex digits. */
  readonly instanceUidHex: string;
}

export interface TemplateVariable {
  readonly namespace: 'attr' | 'agent';
  readonly key: string;
  readonly defaultValue: string | undefined;
  readonly line: number;
}

export class TemplateError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly variable: string,
    detail: string,
  ) {
    super(`${file === '' ? 'file ""' : `file '${file}'`} line ${line}: ${detail}`);
    this.name = 'TemplateError';
  }
}

// $${...} (escaped) or ${ns:key} or ${ns:key:-default}. Only our namespaces are matched.
const VARIABLE = /(\$?)\$\{(attr|agent):([^}:]*)(?::-([^}]*))?\}/g;
const KEY = /^[A-Za-z0-9_./-]+$/;
const AGENT_KEYS = new Set(['instance_uid']);

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The variables a body uses; throws TemplateError on a malformed one. */
export function templateVariables(file: string, body: string): TemplateVariable[] {
  const out: TemplateVariable[] = [];
  for (const m of body.matchAll(VARIABLE)) {
    if (m[1] === '$') continue;
    const namespace = m[2] as 'attr' | 'agent';
    const key = m[3];
    const line = lineAt(body, m.index ?? 0);
    if (!KEY.test(key)) throw new TemplateError(file, line, m[0], `malformed variable '${m[0]}': the key must be letters, digits or _ . - /`);
    if (namespace === 'agent' && !AGENT_KEYS.has(key)) {
      throw new TemplateError(file, line, m[0], `unknown variable '\${agent:${key}}' (known: ${[...AGENT_KEYS].map((k) => `\${agent:${k}}`).join(', ')})`);
    }
    out.push({ namespace, key, defaultValue: m[4], line });
  }
  return out;
}

export function isTemplate(body: string): boolean {
  for (const m of body.matchAll(VARIABLE)) if (m[1] !== '$') return true;
  return false;
}

/** Renders one body for one agent. Throws TemplateError naming the first unknown variable. */
export function renderTemplate(file: string, body: string, ctx: TemplateContext): string {
  templateVariables(file, body); // syntax errors first, with their line
  return body.replace(VARIABLE, (whole: string, escape: string, namespace: string, key: string, def: string | undefined, offset: number) => {
    if (escape === '$') return whole;
    if (namespace === 'agent') return ctx.instanceUidHex;
    if (Object.prototype.hasOwnProperty.call(ctx.attributes, key)) return ctx.attributes[key];
    if (def !== undefined) return def;
    throw new TemplateError(file, lineAt(body, offset), whole, `unknown variable '\${attr:${key}}': the agent has no attribute '${key}'`);
  });
}

/**
 * The body with every variable replaced by a neutral placeholder, so a
 * template can be checked for structure before any agent is known.
 */
export function placeholderRender(body: string): string {
  return body.replace(VARIABLE, (whole: string, escape: string, _ns: string, key: string, def: string | undefined) =>
    escape === '$' ? whole : (def ?? `placeholder-${key.replace(/[^A-Za-z0-9]/g, '-')}`),
  );
}
