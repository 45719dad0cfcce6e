import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.ts';
import { isStoreTrouble } from '../../src/router/dispatch-failure.ts';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isStoreTrouble', () => {
  it('knows the store is in trouble: unreachable, full, read-only, locked, restarting', () => {
    for (const error of [
      new StoreUnavailableError('no'),
      coded('ECONNREFUSED'),
      coded('ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      coded('SQLITE_BUSY'),
      coded('SQLITE_FULL'),
      coded('SQLITE_READONLY_DBMOVED'),
      coded('SQLITE_IOERR_WRITE'),
      coded('08006'),
      coded('53100'), // disk full
      coded('57P01'), // admin shutdown
      coded('25006'), // read-only transaction: a standby
      coded('40P01'), // deadlock: worth a retry
    ]) {
      expect(isStoreTrouble(error), String((error as { code?: string }).code ?? error.message)).toBe(true);
    }
  });

  it('leaves the rest to the probe: the event may be at fault', () => {
    for (const error of [
      new RangeError('Maximum call stack size exceeded'),
      new SyntaxError('Unexpected end of JSON input'),
      coded('54000', 'index row requires 10024 bytes, maximum size is 8191'),
      coded('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
      coded('23505'),
      coded('P0001'),
      coded('SQLITE_CONSTRAINT_TRIGGER'),
      coded('SQLITE_TOOBIG'),
      'a string',
    ]) {
      expect(isStoreTrouble(error), String(error)).toBe(false);
    }
  });
});
