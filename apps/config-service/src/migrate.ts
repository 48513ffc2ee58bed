/**
 * Entry point of the `migrate` role of the image: applies the pending schema
 * migrations to OPAMP_DATABASE_URL and exits (0 when the schema is current).
 * The Helm chart runs it as a pre-install/pre-upgrade Job, so a new schema is
 * in place before any new pod starts; config-service and status-ingest still
 * migrate at start (a no-op then), which keeps compose and `run-distributed`
 * working without it.
 */
import { createPgPool, migrateToLatest } from '@opamp/store';
import { jsonLog as log } from '@opamp/process-runtime';
import { loadConfigServiceConfig } from './config/config-service.config';

async function main(): Promise<void> {
  const config = loadConfigServiceConfig();
  const pool = createPgPool({ connectionString: config.databaseUrl, applicationName: 'opamp-migrate', max: 1 });
  try {
    const client = await pool.connect();
    try {
      const applied = await migrateToLatest(client);
      log('info', applied.length > 0 ? 'applied migrations' : 'schema is current', { migrations: applied });
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  log('error', err instanceof Error ? err.message : String(err));
  process.exit(1);
});
