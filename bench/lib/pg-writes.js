// PostgreSQL write counters of one database (pg_stat_database, and the agents table's
// pg_stat_user_tables row), sampled at two moments to give writes per second.
const { Client } = require('pg');

async function pgWriteCounters(databaseUrl) {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const db = await c.query(
      `SELECT tup_inserted::bigint AS ins, tup_updated::bigint AS upd, tup_deleted::bigint AS del, xact_commit::bigint AS commits
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const agents = await c.query(`SELECT n_tup_upd::bigint AS upd, n_tup_ins::bigint AS ins FROM pg_stat_user_tables WHERE relname = 'agents'`);
    const n = (v) => Number(v ?? 0);
    return {
      atMs: Date.now(),
      rowsWritten: n(db.rows[0]?.ins) + n(db.rows[0]?.upd) + n(db.rows[0]?.del),
      commits: n(db.rows[0]?.commits),
      agentRowsWritten: n(agents.rows[0]?.upd) + n(agents.rows[0]?.ins),
    };
  } finally {
    await c.end();
  }
}

/** Writes per second between two samples of pgWriteCounters. */
function pgWritesPerSecond(a, b) {
  const s = (b.atMs - a.atMs) / 1000;
  const rate = (k) => +((b[k] - a[k]) / s).toFixed(1);
  return { seconds: +s.toFixed(1), rowsWrittenPerSecond: rate('rowsWritten'), agentRowsWrittenPerSecond: rate('agentRowsWritten'), commitsPerSecond: rate('commits') };
}

module.exports = { pgWriteCounters, pgWritesPerSecond };
