/**
 * Configuration templates: the variable syntax, finding variables in a body,
 * and rendering a body as plain text (files that are not YAML). YAML files
 * are rendered by yaml-template.ts, which keeps every value inside one scalar.
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
 * through untouched. Keys are letters, digits and `_ . - /`; a default is one
 * line. A variable the agent does not have (and has no default) is an error
 * naming the variable, the file and the line.
 *
 * Finding variables is one pass over the body (no regular expression that can
 * backtrack, line numbers counted as the pass goes), so its cost is linear in
 * the body's size; `work` counts the characters it looks at, for tests.
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

/** One variable where it stands in a body: [start, end) is its text `${...}`. */
export interface VariableUse extends TemplateVariable {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** Steps of work done (characters looked at, pieces emitted): lets tests check that cost is linear. */
export interface TemplateWork {
  steps: number;
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

const KEY = /^[A-Za-z0-9_./-]+$/;
const AGENT_KEYS = new Set(['instance_uid']);
const NAMESPACES = ['attr', 'agent'] as const;

/**
 * Every variable of a body, in order (escaped ones left out). The rules are
 * those of the pattern `(\$?)\$\{(attr|agent):([^}:]*)(?::-([^}]*))?\}`, read
 * deterministically: the key runs to the first `}` or `:`, a default to the
 * first `}`. Throws TemplateError on a malformed variable.
 */
export function scanVariables(file: string, body: string, work?: TemplateWork): VariableUse[] {
  const out: VariableUse[] = [];
  let line = 1;
  let counted = 0; // line counted up to here
  let noCloseFrom = Infinity; // no '}' at or after this offset: a later unclosed default need not look again
  let from = 0;
  const lineOf = (index: number): number => {
    for (; counted < index; counted++) if (body.charCodeAt(counted) === 10) line++;
    return line;
  };
  while (from < body.length) {
    const open = body.indexOf('${', from);
    if (open < 0) break;
    const namespace = NAMESPACES.find((ns) => body.startsWith(ns, open + 2) && body.charCodeAt(open + 2 + ns.length) === 58);
    if (!namespace) {
      from = open + 2;
      continue;
    }
    const keyStart = open + 3 + namespace.length;
    let i = keyStart;
    while (i < body.length && body[i] !== '}' && body[i] !== ':') i++;
    let end = -1;
    let defaultValue: string | undefined;
    if (body[i] === '}') end = i + 1;
    else if (body[i] === ':' && body[i + 1] === '-' && i + 2 < noCloseFrom) {
      const close = body.indexOf('}', i + 2);
      if (close < 0) noCloseFrom = i + 2;
      else {
        defaultValue = body.slice(i + 2, close);
        end = close + 1;
      }
    }
    if (work) work.steps += (end < 0 ? i : end) - open;
    if (end < 0) {
      from = keyStart; // not a variable: plain text, as the pattern would leave it
      continue;
    }
    from = end;
    if (open > 0 && body.charCodeAt(open - 1) === 36) continue; // $${...}: escaped
    const key = body.slice(keyStart, i);
    const text = body.slice(open, end);
    const at = lineOf(open);
    if (work) work.steps += 1;
    if (!KEY.test(key)) throw new TemplateError(file, at, text, `malformed variable '${text}': the key must be letters, digits or _ . - /`);
    if (namespace === 'agent' && !AGENT_KEYS.has(key)) {
      throw new TemplateError(file, at, text, `unknown variable '\${agent:${key}}' (known: ${[...AGENT_KEYS].map((k) => `\${agent:${k}}`).join(', ')})`);
    }
    if (defaultValue !== undefined && /[\n\r]/.test(defaultValue)) {
      throw new TemplateError(file, at, `\${${namespace}:${key}:-`, `malformed variable '\${${namespace}:${key}:-...': a default cannot span lines (is a '}' missing?)`);
    }
    out.push({ namespace, key, defaultValue, line: at, text, start: open, end });
  }
  if (work) work.steps += body.length - counted; // the rest of the line count, had it run to the end
  return out;
}

/** The variables a body uses; throws TemplateError on a malformed one. */
export function templateVariables(file: string, body: string): TemplateVariable[] {
  return scanVariables(file, body).map(({ namespace, key, defaultValue, line }) => ({ namespace, key, defaultValue, line }));
}

export function isTemplate(body: string): boolean {
  try {
    return scanVariables('', body).length > 0;
  } catch (err) {
    if (err instanceof TemplateError) return true; // malformed, but it means to be one
    throw err;
  }
}

/** What a variable stands for: a value, or a TemplateError. */
export type VariableValues = (use: VariableUse, file: string) => string;

/** Values from one agent: its attribute, else the default, else an error naming the variable. */
export function agentValues(ctx: TemplateContext): VariableValues {
  return (use, file) => {
    if (use.namespace === 'agent') return ctx.instanceUidHex;
    if (Object.prototype.hasOwnProperty.call(ctx.attributes, use.key)) return ctx.attributes[use.key];
    if (use.defaultValue !== undefined) return use.defaultValue;
    throw new TemplateError(file, use.line, use.text, `unknown variable '\${attr:${use.key}}': the agent has no attribute '${use.key}'`);
  };
}

/** Neutral values (the default, else `placeholder-<key>`): checks a template's structure before any agent is known. */
export const placeholderValues: VariableValues = (use) => use.defaultValue ?? `placeholder-${use.key.replace(/[^A-Za-z0-9]/g, '-')}`;

/** Text rendering: each variable replaced by its value as is. For files with no structure we know. */
export function renderText(file: string, body: string, uses: readonly VariableUse[], values: VariableValues, work?: TemplateWork): string {
  const parts: string[] = [];
  let at = 0;
  for (const use of uses) {
    parts.push(body.slice(at, use.start), values(use, file));
    at = use.end;
  }
  parts.push(body.slice(at));
  if (work) work.steps += parts.length;
  return parts.join('');
}

/** Renders one body as text for one agent. Throws TemplateError naming the first unknown variable. */
export function renderTemplate(file: string, body: string, ctx: TemplateContext): string {
  return renderText(file, body, scanVariables(file, body), agentValues(ctx));
}

/**
 * The body with every variable replaced by a neutral placeholder, so a
 * template can be checked for structure before any agent is known.
 */
export function placeholderRender(body: string): string {
  return renderText('', body, scanVariables('', body), placeholderValues);
}
