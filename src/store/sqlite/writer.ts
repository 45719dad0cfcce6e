import type Database from 'better-sqlite3';

/**
 * Group commit for every write of the process: the writes asked for in one turn of the event loop —
 * receives, dispatch, claims, step results, run ends, timeouts — share one transaction, so one WAL
 * append (and, with synchronous=full, one fsync) serves them all, and each caller is answered only
 * after that commit. Each write runs in a savepoint of its own: one that fails for its own reason
 * (a lost lease, a value SQLite refuses) is rolled back and fails alone, the others are committed.
 * A failure of the database as a whole (locked, full, read-only, I/O) fails them all.
 */
export interface Writer {
  /** Runs `apply` (a better-sqlite3 transaction function: a savepoint here) in the next shared transaction. */
  write<T>(apply: () => T): Promise<T>;
}

interface Pending {
  apply: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function groupCommit(db: Database.Database): Writer {
  const commitAll = db.transaction((batch: Pending[]): Outcome[] =>
    batch.map((p) => {
      try {
        return { ok: true, value: p.apply() };
      } catch (error) {
        if (storeWide(error)) throw error;
        return { ok: false, error };
      }
    }),
  );
  let pending: Pending[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    let outcomes: Outcome[];
    try {
      outcomes = commitAll.immediate(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.error)));
  };
  return {
    write: <T>(apply: () => T) =>
      new Promise<T>((resolve, reject) => {
        if (pending.push({ apply, resolve: resolve as (value: unknown) => void, reject }) === 1) setImmediate(flush);
      }),
  };
}

/** A failure of the database as a whole (locked, busy, full, read-only, I/O), not of one row in it. */
export function storeWide(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB|NOMEM|PERM)/.test(code);
}
