import { StoreUnavailableError } from '../errors.ts';

/**
 * Whether a dispatch failure is known to be the store's rather than the event's: the database is
 * unreachable, out of space, read-only, locked or restarting. Dispatch then retries later and sets
 * nothing aside. Any other failure (a constraint, a value PostgreSQL refuses, a bug tripped by the
 * event's data) may be the event's own: the dispatcher checks that the store still writes before it
 * sets the event aside (see Dispatcher).
 */
export function isStoreTrouble(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // The pg driver's own errors about its connection carry no code.
  if (typeof code !== 'string') return /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)|not queryable/.test((error as Error | null)?.message ?? '');
  return sqliteTrouble.test(code) || postgresTrouble.test(code) || systemError.test(code);
}

/** better-sqlite3's result codes (extended ones start the same way). */
const sqliteTrouble = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|CORRUPT|NOTADB|PROTOCOL|INTERRUPT|PERM|AUTH)/;

/**
 * PostgreSQL SQLSTATEs: 08 connection, 40 serialization failure or deadlock (worth a retry), 53
 * insufficient resources (disk full, out of memory, too many connections), 57P shutdown and
 * restart, 58 I/O, XX internal; 25006 read-only transaction (a standby), 55P03 lock not available.
 */
const postgresTrouble = /^(08|40|53|58|XX)[0-9A-Z]{3}$|^57P[0-9A-Z]{2}$|^(25006|55P03)$/;

/** Node's socket errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE … */
const systemError = /^E[A-Z]+$/;
