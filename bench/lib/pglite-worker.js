// PGlite in a worker thread, for the embedded-store evaluation only: the store
// lib's PgliteSqlDatabase runs in the worker; the main thread gets an object
// with the SqlDatabase methods (query, transaction, close) whose every
// statement is one message each way. A transaction holds PGlite's one
// connection in the worker until the main thread says commit or rollback, so
// the statements of a transaction cross the boundary one by one as well.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const path = require('path');

if (!isMainThread && workerData && workerData.pgliteWorker) {
  const { PgliteSqlDatabase } = require(path.join(workerData.distStore, 'pglite-database.js'));
  const { migrateToLatest } = require(path.join(workerData.distStore, 'migrations.js'));
  let db;
  const txInbox = new Map(); // tx id -> { queue, wake }
  const reply = (id, err, result) =>
    parentPort.postMessage(err ? { id, error: { message: err.message, code: err.code } } : { id, result });
  parentPort.on('message', async (m) => {
    try {
      if (m.op === 'open') {
        db = await PgliteSqlDatabase.open(m.dataDir);
        reply(m.id, null, await migrateToLatest(db));
      } else if (m.op === 'query') {
        reply(m.id, null, await db.query(m.sql, m.params));
      } else if (m.op === 'begin') {
        const box = { queue: [], wake: null };
        txInbox.set(m.tx, box);
        const next = () => (box.queue.length > 0 ? Promise.resolve(box.queue.shift()) : new Promise((r) => (box.wake = r)));
        db.transaction(async (tx) => {
          reply(m.id, null, null);
          for (;;) {
            const s = await next();
            if (s.op === 'commit') return s;
            if (s.op === 'rollback') throw Object.assign(new Error('rollback'), { rollbackOf: s });
            try {
              reply(s.id, null, await tx.query(s.sql, s.params));
            } catch (err) {
              reply(s.id, err);
            }
          }
        })
          .then((s) => reply(s.id, null, null))
          .catch((err) => {
            if (err.rollbackOf) reply(err.rollbackOf.id, null, null);
            else reply(m.id, err);
          })
          .finally(() => txInbox.delete(m.tx));
      } else if (m.op === 'tx') {
        const box = txInbox.get(m.tx);
        if (box.wake) {
          const w = box.wake;
          box.wake = null;
          w(m.stmt);
        } else box.queue.push(m.stmt);
      } else if (m.op === 'close') {
        await db.close();
        reply(m.id, null, null);
      }
    } catch (err) {
      reply(m.id, err);
    }
  });
}

/** Opens PGlite on `dataDir` in a worker thread and applies the migrations there. */
async function openPgliteInWorker(dataDir, distStore) {
  const worker = new Worker(__filename, { workerData: { pgliteWorker: true, distStore } });
  const waiting = new Map();
  let seq = 0;
  worker.on('message', (m) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else w.resolve(m.result);
  });
  const call = (msg) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  const txCall = (tx, stmt) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ op: 'tx', tx, stmt: { ...stmt, id } });
    });
  const applied = await call({ op: 'open', dataDir });
  let txSeq = 0;
  return {
    applied,
    query: (sql, params) => call({ op: 'query', sql, params }),
    async transaction(fn) {
      const tx = ++txSeq;
      await call({ op: 'begin', tx });
      let result;
      try {
        result = await fn({ query: (sql, params) => txCall(tx, { op: 'query', sql, params }) });
      } catch (err) {
        await txCall(tx, { op: 'rollback' });
        throw err;
      }
      await txCall(tx, { op: 'commit' });
      return result;
    },
    async close() {
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}

module.exports = { openPgliteInWorker };
