import { DatabaseError } from 'pg';
import { isTransientConnectError, isTransientStoreError, StoreUnavailableError } from './store-unavailable';

const pgError = (code: string, message = 'server said no') => Object.assign(new DatabaseError(message, 0, 'error'), { code });
const sysError = (code: string) => Object.assign(new Error(`connect ${code} /tmp/.s.PGSQL.5432`), { code });

describe('which connection failures another try may get past', () => {
  it('retries pg\'s own timeout, refused or missing sockets, too many connections, a server starting or stopping', () => {
    for (const err of [new Error('timeout exceeded when trying to connect'), sysError('ECONNREFUSED'), sysError('ENOENT'), pgError('53300'), pgError('57P03'), pgError('57P01'), new Error('Connection terminated due to connection timeout')]) {
      expect(isTransientConnectError(err)).toBe(true);
    }
  });

  it('does not retry refused credentials, a missing database, an ended pool, or what is not an error', () => {
    for (const err of [pgError('28P01'), pgError('28000'), pgError('3D000'), new Error('Cannot use a pool after calling end on the pool'), 'a string', null]) {
      expect(isTransientConnectError(err)).toBe(false);
    }
  });
});

describe('which store failures a replay of the same work may get past', () => {
  it('replays an unavailable store, a lost connection, a serialization failure or deadlock', () => {
    for (const err of [new StoreUnavailableError('wait_budget', 'busy'), new StoreUnavailableError('queue_full', 'busy'), pgError('40001'), pgError('40P01'), pgError('08006'), pgError('57P01'), new Error('Connection terminated unexpectedly'), sysError('ECONNRESET')]) {
      expect(isTransientStoreError(err)).toBe(true);
    }
  });

  it('does not replay bad data, constraint violations, statement timeouts or bugs', () => {
    for (const err of [pgError('23505'), pgError('22P02'), pgError('57014'), pgError('54001'), new TypeError('x is undefined'), new Error('record cannot be stored'), undefined]) {
      expect(isTransientStoreError(err)).toBe(false);
    }
  });
});
