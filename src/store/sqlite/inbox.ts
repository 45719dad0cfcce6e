import type Database from 'better-sqlite3';
import type { Inbox, NewEvent, ReceiveResult } from '../types.ts';
import type { Writer } from './writer.ts';

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

export function sqliteInbox(db: Database.Database, writer: Writer): Inbox {
  const receiveOne = db.transaction(eventWriter(db));
  const purge = db.prepare(`
    DELETE FROM seen_events WHERE (source, event_id) IN
      (SELECT source, event_id FROM seen_events WHERE expires_at <= ? LIMIT ?)`);
  return {
    // Group commit (writer.ts): every event that arrives in the same turn of the event loop shares
    // one transaction; each caller is answered once it is committed to the WAL.
    receive: (event, ttlMs) => writer.write(() => receiveOne(event, ttlMs)),
    purgeSeen: async (now, limit) => purge.run(now, limit).changes,
  };
}
