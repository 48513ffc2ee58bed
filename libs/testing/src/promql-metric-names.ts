/**
 * The metric names a PromQL expression reads: a small tokenizer that keeps the
 * identifiers standing for series (vector selectors) and skips functions,
 * aggregations, keywords, label names (in matchers and in by/without/on/
 * ignoring/group_left/group_right lists), strings, numbers, durations and
 * Grafana variables. Pure: text in, names out. A selector written as
 * `{__name__="x"}` yields x.
 */

/** Operators and modifiers spelt as words (never series). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'inf', 'nan']);
/** Aggregation operators: may take `by (...)`/`without (...)` before their arguments. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const IDENT_START = /[A-Za-z_:]/;
const IDENT = /[A-Za-z0-9_:]/;

export class PromqlSyntaxError extends Error {}

/** Distinct metric names of `expr`, in order of first use. */
export function promqlMetricNames(expr: string): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    if (!names.includes(n)) names.push(n);
  };
  let i = 0;
  const skipSpace = () => {
    for (;;) {
      while (i < expr.length && /\s/.test(expr[i])) i++;
      if (expr[i] !== '#') return;
      // a comment runs to the end of the line
      while (i < expr.length && expr[i] !== '\n') i++;
    }
  };
  const closing = (open: string, close: string): number => {
    // index of the bracket closing the one at i, strings skipped
    let depth = 0;
    for (let j = i; j < expr.length; j++) {
      const c = expr[j];
      if (c === '"' || c === "'" || c === '`') j = stringEnd(expr, j);
      else if (c === open) depth++;
      else if (c === close && --depth === 0) return j;
    }
    throw new PromqlSyntaxError(`unclosed '${open}' at ${i} in: ${expr}`);
  };
  while (i < expr.length) {
    skipSpace();
    if (i >= expr.length) break;
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = stringEnd(expr, i) + 1;
    } else if (c === '{') {
      // label matchers: names and values, never series; except the series name itself
      const end = closing('{', '}');
      for (const m of expr.slice(i + 1, end).matchAll(/(?:^|,)\s*__name__\s*=\s*(["'`])([^"'`]*)\1/g)) add(m[2]);
      i = end + 1;
    } else if (c === '[') {
      // range, subquery step: durations and Grafana's $__rate_interval
      i = closing('[', ']') + 1;
    } else if (c === '$') {
      // Grafana variable: $name, ${name}, ${name:format}
      i++;
      if (expr[i] === '{') i = closing('{', '}') + 1;
      else while (i < expr.length && IDENT.test(expr[i])) i++;
    } else if (/[0-9.]/.test(c)) {
      // numbers (0.99, 1e3, 0x1f) and durations (5m, 1h30m)
      while (i < expr.length && /[0-9A-Za-z_.]/.test(expr[i])) i++;
      if (/[eE]$/.test(expr.slice(0, i)) && /[+-]/.test(expr[i] ?? '')) {
        i++;
        while (i < expr.length && /[0-9]/.test(expr[i])) i++;
      }
    } else if (IDENT_START.test(c)) {
      const start = i;
      while (i < expr.length && IDENT.test(expr[i])) i++;
      const word = expr.slice(start, i);
      const lower = word.toLowerCase();
      skipSpace();
      if (LABEL_LISTS.has(lower)) {
        if (expr[i] === '(') i = closing('(', ')') + 1;
      } else if (lower === 'offset') {
        // the duration after it (maybe negative)
        if (expr[i] === '-') i++;
      } else if (KEYWORDS.has(lower)) {
        // nothing to skip
      } else if (expr[i] === '(') {
        // a function or an aggregation: its arguments are read on
      } else if (AGGREGATIONS.has(lower) && /^(by|without)\b/i.test(expr.slice(i))) {
        // `sum by (le) (...)`: the list is skipped next
      } else {
        add(word);
      }
    } else {
      // operators, parentheses, commas, @
      i++;
    }
  }
  return names;
}

function stringEnd(expr: string, start: number): number {
  const quote = expr[start];
  for (let j = start + 1; j < expr.length; j++) {
    if (quote !== '`' && expr[j] === '\\') j++;
    else if (expr[j] === quote) return j;
  }
  throw new PromqlSyntaxError(`unclosed string at ${start} in: ${expr}`);
}

/** A metric family as a registry holds it (prom-client's `type`). */
export interface MetricFamily {
  readonly name: string;
  readonly type: string;
}

/**
 * The family a series name belongs to, among `families`: the name itself, or
 * a histogram's/summary's `_bucket`/`_sum`/`_count` series, or a counter
 * registered without `_total` (exposed with it by OpenMetrics). null: none.
 */
export function familyOf(series: string, families: readonly MetricFamily[]): MetricFamily | null {
  const byName = new Map(families.map((f) => [f.name, f]));
  const exact = byName.get(series);
  if (exact) return exact;
  const m = /^(.*)_(bucket|sum|count|total)$/.exec(series);
  if (!m) return null;
  const base = byName.get(m[1]);
  if (!base) return null;
  if (m[2] === 'bucket') return base.type === 'histogram' ? base : null;
  if (m[2] === 'total') return base.type === 'counter' && !base.name.endsWith('_total') ? base : null;
  return base.type === 'histogram' || base.type === 'summary' ? base : null;
}
