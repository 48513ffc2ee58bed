import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrationFiles, migrateToLatest } from './migrations';
import { EmbeddedDatabaseBrokenError, isFatalPgliteError, PgliteSqlDatabase, SQLSTATE_STATEMENT_TOO_COMPLEX } from './pglite-database';
import { PGLITE_MAX_JSON_DEPTH } from './store-limits';

// PGlite is the embedded database: the same migrations must apply to it, and
// its data must survive a reopen (the embedded server's state survives restarts).
describe('PgliteSqlDatabase', () => {
  jest.setTimeout(60_000);

  it('runs every migration, keeps data across a reopen, and rolls back failed transactions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-'));
    const db = await PgliteSqlDatabase.open(dir);
    expect(await migrateToLatest(db)).toEqual(listMigrationFiles());
    expect(await migrateToLatest(db)).toEqual([]);
    await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, ['t1', 'Tenant one']);
    await db.query(`INSERT INTO agents (tenant_id, instance_uid, labels) VALUES ($1, $2, $3)`, [
      't1',
      Buffer.alloc(16, 1),
      JSON.stringify({ env: 'prod' }),
    ]);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, ['t2', 'Tenant two']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await db.close();

    const reopened = await PgliteSqlDatabase.open(dir);
    const tenants = await reopened.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
    expect(tenants.rows.map((r) => r.id)).toEqual(['t1']);
    const hit = await reopened.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE labels @> $1`, [
      JSON.stringify({ env: 'prod' }),
    ]);
    expect(hit.rows[0].n).toBe(1);
    expect(await migrateToLatest(reopened)).toEqual([]);
    await reopened.close();
  });
});

// Issue 13, item 18: a deeply nested jsonb value overflows PGlite's WebAssembly
// stack before PostgreSQL's stack check fires. Unguarded, the statement answers
// with no rows and no error (the write is silently lost) and the next such
// statement never returns; the store refuses it with PostgreSQL's own error.
describe('PgliteSqlDatabase with deeply nested input', () => {
  jest.setTimeout(60_000);
  const nested = (depth: number) => '['.repeat(depth) + '"leaf"' + ']'.repeat(depth);

  it('refuses jsonb nested deeper than the limit, keeps values at the limit, and stays usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-deep-'));
    const db = await PgliteSqlDatabase.open(dir);
    await db.query('CREATE TABLE docs (id int PRIMARY KEY, body jsonb)');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const refused = db.query(`INSERT INTO docs (id, body) VALUES ($1, $2::jsonb) RETURNING id`, [attempt, nested(10_000)]);
      await expect(refused).rejects.toMatchObject({ code: SQLSTATE_STATEMENT_TOO_COMPLEX, message: expect.stringMatching(/stack depth limit exceeded/) });
    }
    // Inside a transaction too, and the transaction rolls back.
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO docs (id, body) VALUES ($1, $2::jsonb)`, [10, '{"ok":true}']);
        await tx.query(`UPDATE docs SET body = $2::jsonb WHERE id = $1`, [10, `{"a":${nested(5_000)}}`]);
      }),
    ).rejects.toThrow(/stack depth limit exceeded/);
    // Text array elements cast to jsonb one by one (the batched agent upsert) are checked too.
    await expect(
      db.query(`INSERT INTO docs (id, body) SELECT i, b::jsonb FROM unnest($1::int[], $2::text[]) AS v(i, b)`, [
        [40, 41],
        ['{"ok":true}', nested(10_000)],
      ]),
    ).rejects.toMatchObject({ code: SQLSTATE_STATEMENT_TOO_COMPLEX });
    // Brackets inside JSON strings are text, not nesting.
    const text = JSON.stringify({ note: '['.repeat(20_000) });
    await db.query(`INSERT INTO docs (id, body) VALUES ($1, $2::jsonb)`, [20, text]);
    const atLimit = nested(PGLITE_MAX_JSON_DEPTH);
    await db.query(`INSERT INTO docs (id, body) VALUES ($1, $2::jsonb)`, [30, atLimit]);
    expect(db.broken).toBeNull();
    await db.close();

    const reopened = await PgliteSqlDatabase.open(dir);
    const { rows } = await reopened.query<{ id: number; len: number }>(`SELECT id, length(body::text) AS len FROM docs ORDER BY id`);
    expect(rows).toEqual([
      { id: 20, len: text.length + 1 }, // jsonb's text form adds a space after the colon
      { id: 30, len: atLimit.length },
    ]);
    await reopened.close();
  });
});

// A PGlite that aborted (RuntimeError: Aborted(), as after the WebAssembly stack
// overflowed) must not be written through again: every later call is refused.
describe('PgliteSqlDatabase after PGlite aborted', () => {
  jest.setTimeout(60_000);

  it('refuses every call once a statement aborted inside PGlite, and says why', async () => {
    const broken: unknown[] = [];
    const db = await PgliteSqlDatabase.open(undefined, { onBroken: (cause) => broken.push(cause) });
    await db.query('CREATE TABLE docs (id int PRIMARY KEY, body text)');
    const wasm = (Reflect.get(db, 'db') as { Module: { _abort(): void } }).Module;
    // PGlite turns a parameter into text inside its statement: the abort happens mid-statement.
    const abortingParam = { toString: () => wasm._abort(), toJSON: () => 'x' };
    await expect(db.query('INSERT INTO docs (id, body) VALUES ($1, $2)', [1, abortingParam])).rejects.toThrow(EmbeddedDatabaseBrokenError);
    expect(broken).toHaveLength(1);
    expect(String(broken[0])).toMatch(/Aborted\(\)/);
    expect(db.broken?.message).toMatch(/embedded database is broken \(RuntimeError: Aborted\(\)/);
    await expect(db.query('INSERT INTO docs (id, body) VALUES ($1, $2)', [2, 'fine'])).rejects.toThrow(EmbeddedDatabaseBrokenError);
    await expect(db.transaction((tx) => tx.query('SELECT 1'))).rejects.toThrow(EmbeddedDatabaseBrokenError);
    expect(broken).toHaveLength(1);
    await db.close();
  });

  it('tells fatal failures from ordinary SQL errors', () => {
    expect(isFatalPgliteError(new Error('ERRORDATA_STACK_SIZE exceeded'))).toBe(true);
    expect(isFatalPgliteError(new Error('bad buffer ID: 0'))).toBe(true);
    expect(isFatalPgliteError(new Error('invalid byte sequence for encoding "UTF8": 0x00'))).toBe(false);
    expect(isFatalPgliteError(new Error('duplicate key value violates unique constraint'))).toBe(false);
  });
});

// Two PGlite instances on one data directory interleave their writes (a restart
// while the old process still drains, a second `npm start`): only one may open it.
describe('PgliteSqlDatabase data directory lock', () => {
  jest.setTimeout(60_000);

  it('refuses a second open of a directory in use, and takes over a lock whose process is gone', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pglite-lock-')), 'postgres');
    const first = await PgliteSqlDatabase.open(dir);
    await expect(PgliteSqlDatabase.open(dir)).rejects.toThrow(new RegExp(`in use by process ${process.pid}`));
    await first.close();
    // A crashed owner leaves its lock behind; its pid no longer runs.
    writeFileSync(`${dir}.lock`, '2147483646\n');
    const second = await PgliteSqlDatabase.open(dir);
    expect(readFileSync(`${dir}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await second.close();
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
