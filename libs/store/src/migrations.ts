/**
 * Schema migrations: numbered SQL files in libs/store/migrations, applied in
 * order by umzug and recorded in `schema_migrations`. A session-level advisory
 * lock makes concurrent starts of several replicas safe: one applies, the
 * others wait and then find nothing left to do.
 *
 * Works over any client with a pg-style `query`, so the embedded PostgreSQL
 * (PGlite) runs the very same files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Umzug, type UmzugStorage } from 'umzug';

export interface SqlSession {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');
const LOCK_KEY = 'opamp.schema-migrations';

class SqlMigrationStorage implements UmzugStorage<SqlSession> {
  constructor(private readonly session: SqlSession) {}

  async executed(): Promise<string[]> {
    await this.session.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await this.session.query('SELECT name FROM schema_migrations ORDER BY name');
    return rows.map((r) => String(r['name']));
  }

  async logMigration({ name }: { name: string }): Promise<void> {
    await this.session.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    await this.session.query('DELETE FROM schema_migrations WHERE name = $1', [name]);
  }
}

export function listMigrationFiles(dir: string = MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

/**
 * Applies every pending migration, each in its own transaction. Returns the
 * names applied (empty when the schema is current). The session must be one
 * connection (not a pool) so the advisory lock and the work share it.
 */
export async function migrateToLatest(session: SqlSession, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const umzug = new Umzug<SqlSession>({
    context: session,
    storage: new SqlMigrationStorage(session),
    logger: undefined,
    migrations: listMigrationFiles(dir).map((file) => ({
      name: file,
      up: async ({ context }) => {
        const sql = readFileSync(join(dir, file), 'utf8');
        await context.query('BEGIN');
        try {
          await context.query(sql);
          await context.query('COMMIT');
        } catch (err) {
          await context.query('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
      },
    })),
  });
  await session.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
  try {
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  } finally {
    await session.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]);
  }
}
