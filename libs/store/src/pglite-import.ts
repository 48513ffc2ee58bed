/**
 * Carries a database of the previous embedded store (PGlite) over into another
 * PostgreSQL database with the same migrations, once: the source is first
 * migrated to the latest schema, then every table's rows and every sequence's
 * position are copied in one transaction of the target, which also records
 * that the import happened (`store_imports`), so an import that committed is
 * never repeated and one that failed left the target as it was.
 *
 * Rows travel as jsonb (to_jsonb on the source, jsonb_populate_recordset on
 * the target), which keeps every column type as PostgreSQL prints and parses
 * it. Foreign keys are not checked during the copy (replica role): the source
 * satisfied them, and the tables need no order. Rows the target's migrations
 * seeded already are kept.
 */
import { migrateToLatest } from './migrations';
import type { SqlDatabase, SqlExecutor } from './sql-database';

/** Rows per INSERT of the copy. */
const ROWS_PER_STATEMENT = 1_000;
const MARKER_TABLE = 'store_imports';

export interface ImportReport {
  /** Rows copied per table. */
  tables: Record<string, number>;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function tablesOf(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname NOT IN ('schema_migrations', $1)
      ORDER BY 1`,
    [MARKER_TABLE],
  );
  return rows.map((r) => r.name);
}

/** Whether `source` was imported into `target` already. */
export async function wasImported(target: SqlExecutor, source: string): Promise<boolean> {
  const { rows } = await target.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [MARKER_TABLE]);
  if (!rows[0]?.t) return false;
  const found = await target.query(`SELECT 1 FROM ${MARKER_TABLE} WHERE source = $1`, [source]);
  return found.rows.length > 0;
}

/**
 * Copies `from` (migrated to the latest schema first) into `to`, whose schema
 * must be the latest too; `source` names the origin in `store_imports`.
 */
export async function importDatabase(from: SqlDatabase, to: SqlDatabase, source: string): Promise<ImportReport> {
  await migrateToLatest(from);
  const tables = await tablesOf(from);
  const targetTables = new Set(await tablesOf(to));
  const missing = tables.filter((t) => !targetTables.has(t));
  if (missing.length > 0) throw new Error(`the target has no table ${missing.join(', ')}: it is not at the source's schema`);
  const report: ImportReport = { tables: {} };
  await to.transaction(async (tx) => {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (source text PRIMARY KEY, imported_at timestamptz NOT NULL DEFAULT now())`);
    const marked = await tx.query(`INSERT INTO ${MARKER_TABLE} (source) VALUES ($1) ON CONFLICT (source) DO NOTHING RETURNING source`, [source]);
    if (marked.rows.length === 0) throw new Error(`${source} was imported already`);
    await tx.query(`SET LOCAL session_replication_role = replica`);
    for (const table of tables) {
      const { rows } = await from.query<{ r: unknown }>(`SELECT to_jsonb(t) AS r FROM ${ident(table)} t`);
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT).map((row) => (typeof row.r === 'string' ? JSON.parse(row.r) : row.r));
        await tx.query(
          `INSERT INTO ${ident(table)} SELECT * FROM jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb) ON CONFLICT DO NOTHING`,
          [JSON.stringify(chunk)],
        );
      }
      report.tables[table] = rows.length;
    }
    const { rows: sequences } = await from.query<{ name: string; last: string | number | null }>(
      `SELECT sequencename AS name, last_value AS last FROM pg_sequences WHERE schemaname = current_schema()`,
    );
    for (const s of sequences) {
      if (s.last !== null) await tx.query(`SELECT setval($1::regclass, $2::bigint, true)`, [ident(s.name), String(s.last)]);
    }
  });
  return report;
}
