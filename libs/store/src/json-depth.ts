/**
 * Nesting depth of JSON-like text, measured the way PostgreSQL's JSON lexer
 * sees it: `[` and `{` open, `]` and `}` close, nothing inside a string
 * literal counts. Invalid JSON is measured too: the parser recurses into
 * `[[[[` before it finds the text has no end.
 */

/** True when `text` nests deeper than `limit`; stops scanning as soon as it does. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return false;
}
