/**
 * Label selectors: which agents an assignment (or an API query) targets.
 *
 * Labels are an agent's attributes flattened to strings (non-identifying
 * attributes, then identifying ones, which win on a key collision), as
 * status-ingest stores them in `agents.labels`.
 *
 * Syntax (Kubernetes-style, comma = AND, whitespace ignored between tokens):
 *
 *   env=prod                 equality ("==" is accepted too)
 *   env!=prod                inequality; also matches agents without the label
 *   region in (eu, us)       set membership
 *   tier notin (db, cache)   set exclusion; also matches agents without the label
 *   service.name             the label exists
 *   !canary                  the label does not exist
 *
 * Keys are made of letters, digits and `_ . - /`. Values are bare words
 * (letters, digits and `_ . - / : @ +`) or double-quoted strings with `\"` and
 * `\\` escapes (for spaces, commas, parentheses or the empty string). The
 * empty selector matches every agent. A parse error names the column and
 * what was expected.
 */
import { invalidArgument } from './errors';

export type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'notexists'; readonly key: string };

export interface LabelSelector {
  readonly requirements: readonly Requirement[];
}

export type Labels = Readonly<Record<string, string>>;

const KEY_CHAR = /[A-Za-z0-9_./-]/;
const VALUE_CHAR = /[A-Za-z0-9_./:@+-]/;
const MAX_SELECTOR_LENGTH = 4096;

/** True when `key` can be named in a selector as it is (labels set through the API must be). */
export function isLabelKey(key: string): boolean {
  return /^[A-Za-z0-9_./-]+$/.test(key);
}

export class SelectorParseError extends Error {
  constructor(
    readonly column: number,
    detail: string,
  ) {
    super(`invalid label selector at column ${column}: ${detail}`);
    this.name = 'SelectorParseError';
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): LabelSelector {
    const requirements: Requirement[] = [];
    this.skipSpace();
    if (this.atEnd()) return { requirements };
    for (;;) {
      requirements.push(this.requirement());
      this.skipSpace();
      if (this.atEnd()) break;
      this.expect(',', "',' or end of selector");
      this.skipSpace();
      if (this.atEnd()) this.fail('a requirement after \',\'');
    }
    return { requirements };
  }

  private requirement(): Requirement {
    if (this.peek() === '!') {
      this.pos++;
      this.skipSpace();
      return { op: 'notexists', key: this.key() };
    }
    const key = this.key();
    this.skipSpace();
    const c = this.peek();
    if (this.atEnd() || c === ',') return { op: 'exists', key };
    if (c === '!') {
      this.pos++;
      this.expect('=', "'=' after '!'");
      return { op: 'neq', key, value: this.valueAfterSpace() };
    }
    if (c === '=') {
      this.pos++;
      if (this.peek() === '=') this.pos++;
      return { op: 'eq', key, value: this.valueAfterSpace() };
    }
    const word = this.word();
    if (word === 'in' || word === 'notin') {
      this.skipSpace();
      this.expect('(', `'(' after '${word}'`);
      const values: string[] = [];
      for (;;) {
        values.push(this.valueAfterSpace());
        this.skipSpace();
        if (this.peek() === ')') {
          this.pos++;
          break;
        }
        this.expect(',', "',' or ')' in value list");
      }
      return { op: word, key, values: [...new Set(values)] };
    }
    return this.fail(`an operator (=, ==, !=, in, notin) after key '${key}'`, word ? this.pos - word.length : this.pos);
  }

  private key(): string {
    const start = this.pos;
    while (!this.atEnd() && KEY_CHAR.test(this.text[this.pos])) this.pos++;
    if (this.pos === start) this.fail('a label key');
    return this.text.slice(start, this.pos);
  }

  private word(): string {
    const start = this.pos;
    while (!this.atEnd() && /[a-z]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private valueAfterSpace(): string {
    this.skipSpace();
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.atEnd() && VALUE_CHAR.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private quoted(): string {
    const open = this.pos;
    this.pos++;
    let out = '';
    while (!this.atEnd()) {
      const c = this.text[this.pos++];
      if (c === '"') return out;
      if (c === '\\') {
        if (this.atEnd()) break;
        const next = this.text[this.pos++];
        if (next !== '"' && next !== '\\') this.fail(`'"' or '\\' after a backslash`, this.pos - 1);
        out += next;
      } else out += c;
    }
    return this.fail('a closing \'"\'', open);
  }

  private expect(ch: string, what: string): void {
    if (this.peek() !== ch) this.fail(what);
    this.pos++;
  }

  private fail(expected: string, at: number = this.pos): never {
    const found = at >= this.text.length ? 'end of selector' : `'${this.text[at]}'`;
    throw new SelectorParseError(at + 1, `expected ${expected}, found ${found}`);
  }

  private skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }
}

/** Parses a selector; throws SelectorParseError with the column on bad input. */
export function parseSelector(text: string): LabelSelector {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorParseError(MAX_SELECTOR_LENGTH + 1, `selector longer than ${MAX_SELECTOR_LENGTH} characters`);
  return new Parser(text).parse();
}

/** parseSelector for API input: a parse error becomes INVALID_ARGUMENT naming the field. */
export function parseSelectorArgument(text: string, field = 'selector'): LabelSelector {
  try {
    return parseSelector(text);
  } catch (err) {
    if (err instanceof SelectorParseError) throw invalidArgument(`${field}: ${err.message}`);
    throw err;
  }
}

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  return selector.requirements.every((r) => matchesRequirement(r, labels));
}

function matchesRequirement(r: Requirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
      return has && value === r.value;
    case 'neq':
      return !has || value !== r.value;
    case 'in':
      return has && r.values.includes(value as string);
    case 'notin':
      return !has || !r.values.includes(value as string);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

function quoteIfNeeded(value: string): string {
  return value !== '' && [...value].every((c) => VALUE_CHAR.test(c)) && value !== 'in' && value !== 'notin'
    ? value
    : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The canonical text of a selector (parses back to the same requirements). */
export function formatSelector(selector: LabelSelector): string {
  return selector.requirements
    .map((r) => {
      switch (r.op) {
        case 'eq':
          return `${r.key}=${quoteIfNeeded(r.value)}`;
        case 'neq':
          return `${r.key}!=${quoteIfNeeded(r.value)}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${r.values.map(quoteIfNeeded).join(', ')})`;
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
      }
    })
    .join(',');
}

/**
 * A SQL predicate over a jsonb labels column equivalent to matchesSelector,
 * with positional parameters starting after `paramOffset`. Equality uses
 * containment (`@>`) so the GIN index on labels applies.
 */
export function selectorToSql(selector: LabelSelector, column: string, paramOffset: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${paramOffset + params.length}`;
  };
  const parts = selector.requirements.map((r) => {
    switch (r.op) {
      case 'eq':
        return `${column} @> ${p(JSON.stringify({ [r.key]: r.value }))}::jsonb`;
      case 'neq':
        return `NOT (${column} @> ${p(JSON.stringify({ [r.key]: r.value }))}::jsonb)`;
      case 'in':
        return `(${column} ->> ${p(r.key)}) = ANY(${p(r.values)}::text[])`;
      case 'notin':
        return `NOT coalesce((${column} ->> ${p(r.key)}) = ANY(${p(r.values)}::text[]), false)`;
      case 'exists':
        return `${column} ? ${p(r.key)}`;
      case 'notexists':
        return `NOT (${column} ? ${p(r.key)})`;
    }
  });
  return { sql: parts.length ? parts.map((s) => `(${s})`).join(' AND ') : 'TRUE', params };
}
