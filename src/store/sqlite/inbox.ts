import type Database from 'better-sqlite3';
import type { Inbox, NewEvent, ReceiveResult } from '../types.ts';

interface Pending {
  event: NewEvent;
  ttlMs: number;
  resolve: (result: ReceiveResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Stores one event inside the caller's transaction: remembers (source, eventId) until receivedAt + ttl
 * unless seen within its TTL (then a duplicate, nothing written). Receives and announcements use it.
 */
export function eventWriter(db: Database.Database): (event: NewEvent, ttlMs: number) => ReceiveResult {
  // An id is new, or seen so long ago that its TTL ran out: then the record is renewed. Otherwise 0 changes.
  const remember = db.prepare(`
    INSERT INTO seen_events (source, event_id, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (source, event_id) DO UPDATE SET expires_at = excluded.expires_at
    WHERE seen_events.expires_at <= ?`);
  const insert = db.prepare(`
    INSERT INTO events (source, event_id, type, received_at, headers, body, test)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  return (e, ttlMs) => {
    if (remember.run(e.source, e.eventId, e.receivedAt + ttlMs, e.receivedAt).changes === 0) return { duplicate: true };
    const info = insert.run(e.source, e.eventId, e.type, e.receivedAt, JSON.stringify(e.headers), e.body, e.test ? 1 : 0);
    return { duplicate: false, seq: Number(info.lastInsertRowid) };
  };
}

export function sqliteInbox(db: Database.Database): Inbox {
  const receiveOne = eventWriter(db);
  const receiveBatch = db.transaction((batch: Pending[]) => batch.map((p) => receiveOne(p.event, p.ttlMs)));

  // Group commit: every event that arrives in the same turn of the event loop shares one transaction,
  // so one WAL append (and, with synchronous=full, one fsync) serves many requests. Each caller is
  // answered only after that commit. If the batch fails for one event's sake, each event is tried
  // again in a transaction of its own, so that only that one gets the error; a database that is
  // locked or cannot write fails them all at once (trying each would wait busy_timeout per event).
  let pending: Pending[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    let results: ReceiveResult[];
    try {
      results = receiveBatch.immediate(batch);
    } catch (error) {
      if (batch.length > 1 && !storeWide(error)) {
        for (const p of batch) {
          try {
            p.resolve(receiveBatch.immediate([p])[0]!);
          } catch (own) {
            p.reject(own);
          }
        }
      } else {
        for (const p of batch) p.reject(error);
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  };
  const receive = (event: NewEvent, ttlMs: number) =>
    new Promise<ReceiveResult>((resolve, reject) => {
      if (pending.push({ event, ttlMs, resolve, reject }) === 1) setImmediate(flush);
    });
  const purge = db.prepare(`
    DELETE FROM seen_events WHERE (source, event_id) IN
      (SELECT source, event_id FROM seen_events WHERE expires_at <= ? LIMIT ?)`);

  return {
    // Resolves once the batch holding this event is committed to the WAL.
    receive,
    purgeSeen: async (now, limit) => purge.run(now, limit).changes,
  };
}

/** A failure of the database as a whole (locked, busy, full, read-only, I/O), not of one row in it. */
function storeWide(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB|NOMEM|PERM)/.test(code);
}
