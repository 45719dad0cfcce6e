import { eventSummaryColumns } from '../rows.ts';
import type { Announcement, Inbox, NewEvent, ReceiveResult } from '../types.ts';
import type { PoolClient, QueryConfig } from 'pg';
import { checkin, checkout, clean, lockKey, sqlState, type Db } from './db.ts';

export const eventColumns = `${eventSummaryColumns}, headers, body`;
/** The event columns of a join, qualified by the events table's alias. */
export const eventColumnsOf = (alias: string) => eventColumns.split(', ').map((c) => `${alias}.${c}`).join(', ');

// ---------------------------------------------------------------- SQL

/**
 * One statement, so one short transaction, for a batch of events with distinct (source, id): remember
 * each id (new, or seen so long ago that its TTL ran out, then renewed) and store the events whose id
 * was remembered, in batch order (the other instances are woken after the commit, see `notifier`). A concurrent receive of the same id
 * waits on the first one's row, then finds it unexpired and returns nothing for it: a duplicate.
 *
 * Dispatch order is commit order. The events take their seq only after the order lock ($9, $10: a
 * transaction-level advisory lock, see `orderLock`), held until this transaction commits: so a
 * transaction that gets later seqs starts to take them only once every earlier one has committed
 * (or rolled back), and a visible seq means every smaller one is visible too, or never will be. The
 * lock is taken after the dedup (which may wait on another instance's receive of the same id) and
 * held for the insert and the commit only. Whatever else runs on the server holds nothing back.
 */
export const receiveSql = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::boolean[])
      WITH ORDINALITY AS i (source, event_id, type, received_at, expires_at, headers, body, test, n)
  ), seen AS (
    INSERT INTO seen_events AS s (source, event_id, seen_at, expires_at)
    SELECT source, event_id, received_at, expires_at FROM input ORDER BY n
    ON CONFLICT (source, event_id) DO UPDATE SET seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at
      WHERE s.expires_at <= EXCLUDED.seen_at
    RETURNING source, event_id
  ), ordered AS (
    SELECT pg_advisory_xact_lock($9, $10) FROM (SELECT count(*) AS n FROM seen) s WHERE s.n > 0
  ), stored AS (
    INSERT INTO events (source, event_id, type, received_at, headers, body, test)
    SELECT i.source, i.event_id, i.type, i.received_at, i.headers, i.body, i.test
    FROM input i JOIN seen USING (source, event_id) CROSS JOIN ordered ORDER BY i.n
    RETURNING seq, source, event_id
  )
  SELECT i.n, stored.seq FROM stored JOIN input i USING (source, event_id)`;

/** receiveSql's parameters for a batch of events with their dedup TTLs. */
export function receiveParams(db: Db, batch: ReadonlyArray<{ event: NewEvent; ttlMs: number }>): unknown[] {
  const column = <T>(get: (r: { event: NewEvent; ttlMs: number }) => T) => batch.map(get);
  return [
    // Ids and types come from the sender's JSON, where \u0000 is legal; a text column cannot hold it.
    column((r) => clean(r.event.source)),
    column((r) => clean(r.event.eventId)),
    column((r) => clean(r.event.type)),
    column((r) => r.event.receivedAt),
    column((r) => r.event.receivedAt + r.ttlMs),
    column((r) => JSON.stringify(r.event.headers)),
    column((r) => r.event.body),
    column((r) => r.event.test),
    ...orderLock(db),
  ];
}

/**
 * Appends hookline's own events inside the caller's transaction, deduplicated as receives are;
 * returns how many were stored (the caller wakes the other instances after its commit).
 */
export async function appendEvents(db: Db, client: PoolClient, announcements: readonly Announcement[]): Promise<number> {
  if (announcements.length === 0) return 0;
  return (await client.query(receiveSql, receiveParams(db, announcements.map((a) => ({ event: a.event, ttlMs: a.dedupTtlMs }))))).rowCount ?? 0;
}

/** The key of the lock under which events take their seq (dispatch order), per schema. */
export const orderLock = (db: Db) => lockKey('order', db.schema);

interface Receipt {
  event: NewEvent;
  ttlMs: number;
  /** performance.now() by which the caller must have its answer (see groupCommit). */
  deadline: number;
  resolve: (result: ReceiveResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Stores a batch (distinct ids) in one statement; the results in batch order. The statement may take
 * what is left of the batch's earliest deadline, no more: past it the client gives up (the server may
 * still commit, and the sender's retry is then a duplicate, which is fine; a 2xx without a commit is not).
 */
async function receiveBatch(db: Db, batch: readonly Receipt[]): Promise<ReceiveResult[]> {
  const client = await checkout(db.pool);
  let failure: Error | undefined;
  try {
    const remaining = Math.round(Math.min(...batch.map((r) => r.deadline)) - performance.now());
    if (remaining <= 0) throw new Error('no answer from the database in time (connecting took the whole statement timeout)');
    // query_timeout per query is honoured by pg's Client, though its typings only know it per client.
    const query: QueryConfig & { query_timeout: number } = {
      text: receiveSql,
      values: receiveParams(db, batch),
      query_timeout: remaining,
    };
    const { rows } = await client.query<{ n: number; seq: number }>(query);
    const results: ReceiveResult[] = batch.map(() => ({ duplicate: true }));
    for (const row of rows) results[row.n - 1] = { duplicate: false, seq: row.seq };
    if (rows.length > 0) db.notify?.('events');
    return results;
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    // A connection whose statement failed or timed out is closed, not reused (as pool.query does).
    checkin(client, failure);
  }
}

/**
 * Group commit: a receive goes to the database at once while fewer than `maxInFlight` statements are
 * running; the receives that arrive meanwhile wait and go together, in the next statement. One
 * commit (one WAL flush, one NOTIFY) then serves many requests, and each caller is answered only
 * after it. A batch holds an id once: a second receive of it waits for the next batch, which sees
 * the first committed and calls it a duplicate.
 *
 * Every receive is answered within `budgetMs` (statement timeout + 1 s): with 503 if it is not
 * stored by then. Without that bound, receives queued behind statements on a database that went
 * silent (a network cut drops packets, it does not reset connections) would each wait for those to
 * time out first, then for their own: longer than the senders' timeouts (muro: 10 s).
 */
export function groupCommit(db: Db, maxInFlight: number, budgetMs: number, limits = { events: 500, bytes: 4 << 20 }) {
  let queue: Receipt[] = [];
  let inFlight = 0;
  const flush = async () => {
    inFlight++;
    const batch: Receipt[] = [];
    const ids = new Set<string>();
    const rest: Receipt[] = [];
    const now = performance.now();
    let bytes = 0;
    for (const r of queue) {
      // Too late to try: its time went waiting for earlier statements.
      if (r.deadline - now < 50) {
        r.reject(new Error(`no answer from the database within ${budgetMs} ms`));
        continue;
      }
      const id = `${clean(r.event.source)}\n${clean(r.event.eventId)}`;
      const full = batch.length >= limits.events || (batch.length > 0 && bytes + r.event.body.length > limits.bytes);
      if (!full && !ids.has(id)) {
        ids.add(id);
        batch.push(r);
        bytes += r.event.body.length;
      } else {
        rest.push(r);
      }
    }
    queue = rest;
    try {
      if (batch.length === 0) return;
      const results = await receiveBatch(db, batch);
      batch.forEach((r, i) => r.resolve(results[i]!));
    } catch (error) {
      // One event the database refuses (a data or constraint error, or a value past a limit such as an
      // index row's size) must not fail the others with it: each is tried again on its own.
      if (batch.length > 1 && rowSpecific(sqlState(error))) {
        for (const r of batch) await receiveBatch(db, [r]).then(([result]) => r.resolve(result!), r.reject);
      } else {
        for (const r of batch) r.reject(error);
      }
    } finally {
      inFlight--;
      if (queue.length > 0 && inFlight < maxInFlight) void flush();
    }
  };
  return (event: NewEvent, ttlMs: number) =>
    new Promise<ReceiveResult>((resolve, reject) => {
      queue.push({ event, ttlMs, deadline: performance.now() + budgetMs, resolve, reject });
      if (inFlight < maxInFlight) void flush();
    });
}

/** SQLSTATE classes of errors caused by a row's values: 22 data exception, 23 integrity, 54 program limit. */
const rowSpecific = (state: string | undefined) => state !== undefined && /^(22|23|54)/.test(state);

/**
 * The outer condition is checked again on the row as it is when locked: a record that a concurrent
 * receive has just renewed is not deleted.
 */
export const purgeSql = `
  DELETE FROM seen_events s
  USING (SELECT source, event_id FROM seen_events WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) d
  WHERE s.source = d.source AND s.event_id = d.event_id AND s.expires_at <= $1`;

export function postgresInbox(db: Db, options: { maxInFlight: number; budgetMs: number }): Inbox {
  const { pool } = db;
  return {
    receive: groupCommit(db, options.maxInFlight, options.budgetMs),
    purgeSeen: async (now, limit) => (await pool.query(purgeSql, [now, limit])).rowCount ?? 0,
  };
}
