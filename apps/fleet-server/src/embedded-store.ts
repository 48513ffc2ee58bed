/**
 * The embedded server's database: a PostgreSQL server process of its own
 * (libs/store EmbeddedPostgresCluster) on `<data dir>/pg`, reached over a unix
 * socket through the same pg pool and migrations as the distributed mode, so
 * no statement runs on this process's event loop.
 *
 * A data directory of an earlier version holds its database in PGlite
 * (`<data dir>/postgres`): on the first start it is imported, once, and then
 * renamed to `postgres.pglite-imported` (kept as a backup; delete it when the
 * new store is fine). An import that fails stops the start with what to do,
 * and leaves both as they were.
 */
import { existsSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createPgPool,
  EmbeddedPostgresCluster,
  importDatabase,
  migrateToLatest,
  PgliteSqlDatabase,
  PgSqlDatabase,
  wasImported,
  type ClusterLog as ServerLog,
  type PgPoolCounts,
  type SqlDatabase,
} from '@opamp/store';
import type { FleetServerConfig } from './config/fleet-server.config';

/** The PGlite directory of earlier versions, inside the data directory. */
export const PGLITE_DIR = 'postgres';
export const PGLITE_IMPORTED_DIR = 'postgres.pglite-imported';
export const CLUSTER_DIR = 'pg';
const IMPORT_SOURCE = 'pglite:.opamp-data/postgres';

export interface EmbeddedStore {
  db: SqlDatabase;
  /** The pool behind db, for its saturation gauges. */
  pool: PgPoolCounts;
  /** Why the database is unusable (its server exited), or null while it is healthy. */
  readonly failure: Error | null;
  close(): Promise<void>;
}

export async function openEmbeddedStore(config: FleetServerConfig, log: ServerLog): Promise<EmbeddedStore> {
  const dataDir = resolve(config.dataDir);
  let endPool: () => Promise<void> = async () => undefined;
  const cluster = await EmbeddedPostgresCluster.start({
    dataDir: join(dataDir, CLUSTER_DIR),
    runAsUser: config.embeddedPgUser,
    log,
    onUnexpectedExit: () => {
      log('error', 'the embedded database is gone: every write fails; restart the server');
      // Nothing restarts it: waiting out the pool's budget would only hold every caller (and the stop) for minutes.
      void endPool();
    },
  });
  // Over the unix socket a slow connection means a starved CPU: longer tries and a longer wait (EMBEDDED_POSTGRES_DEFAULTS).
  const pool = createPgPool({ connectionString: cluster.connectionString, applicationName: 'fleet-server', max: config.embeddedPgPoolMax, connectionTimeoutMs: config.embeddedPgConnectTimeoutMs });
  let ended: Promise<void> | null = null;
  endPool = () => (ended ??= pool.end().catch(() => undefined));
  const db = new PgSqlDatabase(pool, { waitBudgetMs: config.embeddedPgWaitBudgetMs });
  const close = async () => {
    await endPool();
    await cluster.stop();
  };
  try {
    // Migrations take an advisory lock: one connection for the lock and the work (a starved start waits for it too).
    const applied = await db.session((client) => migrateToLatest(client));
    if (applied.length > 0) log('info', 'applied migrations', { migrations: applied });
    await importPgliteDirectory(dataDir, db, log);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    db,
    pool,
    get failure() {
      return cluster.failure;
    },
    close,
  };
}

async function importPgliteDirectory(dataDir: string, db: SqlDatabase, log: ServerLog): Promise<void> {
  const legacy = join(dataDir, PGLITE_DIR);
  if (!existsSync(legacy)) return;
  const kept = join(dataDir, PGLITE_IMPORTED_DIR);
  if (existsSync(kept)) throw new Error(`both ${legacy} and ${kept} (an earlier import's backup) exist: move one of them away`);
  if (!(await wasImported(db, IMPORT_SOURCE))) {
    log('info', 'importing the database of an earlier version (PGlite) into the embedded PostgreSQL', { from: legacy });
    let pglite: PgliteSqlDatabase | null = null;
    try {
      pglite = await PgliteSqlDatabase.open(legacy);
      const report = await importDatabase(pglite, db, IMPORT_SOURCE);
      log('info', 'imported the earlier database', { rows: report.tables });
    } catch (err) {
      throw new Error(
        `could not import the earlier database in ${legacy} (${(err as Error).message}); nothing was changed. ` +
          `Start the earlier version to check it, or move ${legacy} away to start with an empty database (agents report their state again when they reconnect; configurations and tokens are lost)`,
      );
    } finally {
      await pglite?.close();
    }
  }
  renameSync(legacy, kept);
  log('info', 'kept the earlier database as a backup; delete it once this version runs fine', { path: kept });
}
