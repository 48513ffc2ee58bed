/** Limits of the store lib: what a statement may carry into the embedded database. */

/**
 * Deepest nesting of `[` / `{` (outside JSON strings) a text parameter may have
 * on PGlite. PGlite's WebAssembly stack is smaller than its max_stack_depth
 * (2MB) assumes, so a deep jsonb value overflows it before PostgreSQL's own
 * check fires: measured on 0.5.16, 6,000 levels already answer with no rows
 * and no error, and the next such statement never returns (PostgreSQL on a
 * server parses 10,000 and refuses 20,000 cleanly). Agent data is at most ~50
 * deep (protobuf's recursion limit), so 256 refuses nothing real.
 */
export const PGLITE_MAX_JSON_DEPTH = 256;
