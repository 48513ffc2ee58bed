/**
 * Rendering YAML templates so that a value can only ever become (part of) one
 * scalar: an agent's attribute is data, never structure.
 *
 * How: every variable is first replaced by a sentinel word (letters and
 * digits, harmless anywhere) and the result is parsed once into the `yaml`
 * package's concrete syntax tree. Each sentinel then lies inside one token:
 *
 * - a scalar (plain, 'single', "double", or a | > block scalar, as a key or a
 *   value, in block or flow style): the scalar is re-written with the values in
 *   it. A value is spliced into the scalar's own text when that style can hold
 *   it unchanged (double-quoted: always, escaped; plain: only letters, digits
 *   and `_ . / + @ ~ = -`; single-quoted and block: one printable line). Any
 *   other value turns the whole scalar into a double-quoted one, its resolved
 *   text with the values escaped, so the scalar's content is exactly the
 *   template's with the values in place.
 * - a comment: left as written (comments are not configuration).
 * - anything else (anchor, alias, tag, directive): refused, since no value
 *   can be made safe there.
 *
 * Compiling costs one parse per file; rendering for an agent is then a join of
 * pieces, linear in the output. A value that is not well-formed Unicode (a lone
 * surrogate) is refused: it has no UTF-8 form to send.
 */
import { Composer, CST, Parser } from 'yaml';
import { scanVariables, TemplateError, type TemplateWork, type VariableUse, type VariableValues } from './template';

type ScalarStyle = 'plain' | 'single' | 'double' | 'block';

interface Slot {
  readonly style: ScalarStyle;
  /** Values may be spliced into the source (else the scalar is re-written double-quoted). */
  readonly spliceable: boolean;
  /** Text before the source when spliced: a block scalar's header line. */
  readonly header: string;
  /** The scalar's source text, split at its variables. */
  readonly source: ReadonlyArray<string | VariableUse>;
  /** The scalar's resolved content, split at its variables: used when it must become double-quoted. */
  readonly content: ReadonlyArray<string | VariableUse>;
  /** Text after the double-quoted form (a block scalar's final line break). */
  readonly suffix: string;
}

export type Piece = string | Slot;

export type CompiledYaml =
  | { readonly ok: true; readonly pieces: readonly Piece[]; readonly variables: number }
  /** The body is not YAML even with harmless values: it cannot be rendered safely. */
  | { readonly ok: false; readonly variables: number };

const SCALAR_STYLES: Readonly<Record<string, ScalarStyle>> = {
  scalar: 'plain',
  'single-quoted-scalar': 'single',
  'double-quoted-scalar': 'double',
  'block-scalar': 'block',
};

interface Leaf {
  readonly type: string;
  /** Where the token starts (a block scalar: its header, comment included). */
  readonly from: number;
  /** Where its text starts (a block scalar: its content, after the header). */
  readonly start: number;
  readonly end: number;
  readonly token: CST.Token;
}

function leaves(token: unknown, out: Leaf[]): void {
  if (Array.isArray(token)) {
    for (const t of token) leaves(t, out);
    return;
  }
  if (typeof token !== 'object' || token === null) return;
  const t = token as CST.Token;
  const source: unknown = (t as { source?: unknown }).source;
  if (typeof source === 'string' && typeof t.offset === 'number') {
    let start = t.offset;
    if (t.type === 'block-scalar') for (const p of t.props as CST.SourceToken[]) start = p.offset + p.source.length;
    out.push({ type: t.type, from: t.offset, start, end: start + source.length, token: t });
    if (t.type === 'block-scalar') return; // its header and comment belong to it
  }
  for (const [k, v] of Object.entries(t)) if (k !== 'source' && typeof v === 'object') leaves(v, out);
}

/** Splits `text` at the sentinels `${prefix}<index>q` into text and the variables they stand for. */
function splitAtSentinels(text: string, prefix: string, uses: readonly VariableUse[]): Array<string | VariableUse> {
  const out: Array<string | VariableUse> = [];
  const re = new RegExp(`${prefix}(\\d+)q`, 'g');
  let at = 0;
  for (const m of text.matchAll(re)) {
    out.push(text.slice(at, m.index), uses[Number(m[1])]);
    at = (m.index ?? 0) + m[0].length;
  }
  out.push(text.slice(at));
  return out;
}

/** Compiles one YAML body. Throws TemplateError for a malformed variable or one outside any scalar. */
export function compileYamlTemplate(file: string, body: string, work?: TemplateWork): CompiledYaml {
  const uses = scanVariables(file, body, work);
  if (uses.length === 0) return { ok: true, pieces: [body], variables: 0 };
  // A sentinel prefix the body does not contain, so every occurrence of it is one of ours.
  // One pass for the longest 'tplvarx...x' in the body; one more x than that cannot occur.
  let longest = -1;
  for (const m of body.matchAll(/tplvar(x*)/g)) longest = Math.max(longest, m[1].length);
  const prefix = `tplvar${'x'.repeat(longest + 1)}`;
  const parts: string[] = [];
  const sentinelAt: number[] = [];
  let at = 0;
  let length = 0;
  uses.forEach((use, i) => {
    const head = body.slice(at, use.start);
    const sentinel = `${prefix}${i}q`;
    parts.push(head, sentinel);
    sentinelAt.push(length + head.length);
    length += head.length + sentinel.length;
    at = use.end;
  });
  parts.push(body.slice(at));
  const text = parts.join('');

  const tokens = Array.from(new Parser().parse(text));
  for (const doc of new Composer({ uniqueKeys: false }).compose(tokens)) if (doc.errors.length > 0) return { ok: false, variables: uses.length };
  const found: Leaf[] = [];
  leaves(tokens, found);
  found.sort((a, b) => a.start - b.start);
  if (work) work.steps += found.length + text.length;

  const pieces: Piece[] = [];
  let copied = 0; // text copied up to here
  let next = 0; // next sentinel
  for (const leaf of found) {
    if (next >= uses.length) break;
    if (sentinelAt[next] >= leaf.end) continue;
    if (sentinelAt[next] < leaf.from) break; // between tokens: reported below
    const first = next;
    while (next < uses.length && sentinelAt[next] < leaf.end) next++;
    const style = SCALAR_STYLES[leaf.type];
    if (leaf.type === 'comment') {
      pieces.push(text.slice(copied, leaf.start), renderText(text.slice(leaf.start, leaf.end), prefix, uses));
      copied = leaf.end;
      continue;
    }
    if (!style) {
      const use = uses[first];
      throw new TemplateError(file, use.line, use.text, `variable '${use.text}' is in a YAML ${leaf.type}; a variable can only stand in a value or a key`);
    }
    const resolved = CST.resolveAsScalar(leaf.token as CST.FlowScalar | CST.BlockScalar);
    // A block scalar becomes double-quoted from its header on; its final line break stays.
    const from = leaf.from;
    const suffix = style === 'block' && /[\n\r]$/.test((leaf.token as CST.BlockScalar).source) ? '\n' : '';
    const source = text.slice(leaf.start, leaf.end);
    pieces.push(text.slice(copied, from), {
      style,
      // A flow scalar over several lines is folded: a value at a line's edge would fold differently.
      spliceable: style === 'block' || !/[\n\r]/.test(source),
      header: renderText(text.slice(from, leaf.start), prefix, uses), // a variable in the header's comment stays as written
      source: splitAtSentinels(source, prefix, uses),
      content: splitAtSentinels(resolved.value, prefix, uses),
      suffix,
    });
    copied = leaf.end;
  }
  if (next < uses.length) {
    const use = uses[next];
    throw new TemplateError(file, use.line, use.text, `variable '${use.text}' is not inside a YAML value or key`);
  }
  pieces.push(text.slice(copied));
  return { ok: true, pieces, variables: uses.length };
}

function renderText(text: string, prefix: string, uses: readonly VariableUse[]): string {
  return splitAtSentinels(text, prefix, uses)
    .map((p) => (typeof p === 'string' ? p : p.text))
    .join('');
}

// Characters a plain scalar holds with no meaning, wherever the variable sits (no ': ', ' #', ',', '[', '{', '*', '&', '!', ...).
const PLAIN_SAFE = /^[A-Za-z0-9_][A-Za-z0-9_./+@~=-]*$/;
// Anything YAML does not print as is, or reads as a line break (NEL, LS, PS), or strips (BOM).
// eslint-disable-next-line no-control-regex
const NOT_INLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function fitsInPlace(style: ScalarStyle, value: string): boolean {
  switch (style) {
    case 'double':
      return true;
    case 'plain':
      return PLAIN_SAFE.test(value);
    case 'single':
      // Folding trims white space at line ends, so none at the value's ends either.
      return !NOT_INLINE.test(value) && !/^[ \t]|[ \t]$/.test(value);
    case 'block':
      // Not empty and no leading white space: either would change indentation or folding.
      return /^[A-Za-z0-9_]/.test(value) && !NOT_INLINE.test(value);
  }
}

/** The value as double-quoted scalar text (without the quotes). `edges`: escape white space at its ends, which folding would trim. */
export function doubleQuoted(value: string, edges: boolean): string {
  let out = '';
  let i = 0;
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (NOT_INLINE.test(ch)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (ch === ' ' && edges && (i === 0 || i === value.length - 1)) out += '\\x20';
    else out += ch;
    i += ch.length;
  }
  return out;
}

function escapeIn(style: ScalarStyle, value: string): string {
  if (style === 'double') return doubleQuoted(value, true);
  if (style === 'single') return value.replace(/'/g, "''");
  return value;
}

/** Renders a compiled YAML body with these values. Throws TemplateError for a missing value or one that cannot be sent. */
export function renderYaml(file: string, pieces: readonly Piece[], values: VariableValues, work?: TemplateWork): string {
  const out: string[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      out.push(piece);
      continue;
    }
    const valueOf = new Map<VariableUse, string>();
    let inPlace = piece.spliceable;
    for (const p of piece.source) {
      if (typeof p === 'string') continue;
      const value = values(p, file);
      if (LONE_SURROGATE.test(value)) throw new TemplateError(file, p.line, p.text, `the value of '${p.text}' is not valid Unicode text`);
      valueOf.set(p, value);
      inPlace &&= fitsInPlace(piece.style, value);
    }
    if (inPlace) {
      out.push(piece.header);
      for (const p of piece.source) out.push(typeof p === 'string' ? p : escapeIn(piece.style, valueOf.get(p) ?? ''));
    } else {
      const content = piece.content.map((p) => (typeof p === 'string' ? p : (valueOf.get(p) ?? values(p, file)))).join('');
      out.push(`"${doubleQuoted(content, false)}"${piece.suffix}`);
    }
  }
  const text = out.join('');
  if (work) work.steps += out.length + text.length;
  return text;
}
