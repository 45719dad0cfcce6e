import type { Pool, PoolClient } from 'pg';
import type { WaitResolution, WaitStore } from '../types.ts';
import { toJson } from '../rows.ts';
import { channel, type Db } from './db.ts';
import { toWaiting, type WaitingRow } from '../rows.ts';
import { eventColumns, eventColumnsOf } from './inbox.ts';
import { toEvent, type EventRow } from '../rows.ts';

/**
 * Resolving a wait, in one statement: only if it is still waiting (the conditional UPDATE is the
 * exactly-once: a concurrent resolver or sweeper blocks on the row, then finds it no longer
 * waiting); its step gets the output, its run is due now, and workers elsewhere are woken.
 */
export const resolveSql = `
  WITH wait AS (
    UPDATE waits SET status = $3 WHERE run_id = $1 AND step_id = $2 AND status = 'waiting'
    RETURNING run_id, step_id
  ), step AS (
    UPDATE steps s SET status = 'done', output = $4, finished_at = $5
    FROM wait WHERE s.run_id = wait.run_id AND s.step_id = wait.step_id
  ), run AS (
    UPDATE runs r SET status = 'queued', available_at = $5, updated_at = $5
    FROM wait WHERE r.id = wait.run_id AND r.status = 'waiting'
  )
  SELECT run_id, pg_notify('${channel}', $6) FROM wait`;

export function resolveWait(
  db: Db,
  on: Pool | PoolClient,
  resolution: WaitResolution,
  status: 'matched' | 'timed_out',
  now: number,
): Promise<boolean> {
  return on
    .query(resolveSql, [resolution.runId, resolution.stepId, status, toJson(resolution.output), now, db.wake.runs])
    .then((r) => r.rowCount === 1);
}

/**
 * Sweepers at the same moment take disjoint waits (SKIP LOCKED); a wait that an event resolves
 * meanwhile is either skipped (locked) or fails the re-checked `status = 'waiting'`.
 */
export const expireSql = `
  WITH due AS (
    SELECT run_id, step_id FROM waits WHERE status = 'waiting' AND deadline <= $1
    ORDER BY deadline, ord LIMIT $2 FOR UPDATE SKIP LOCKED
  ), wait AS (
    UPDATE waits w SET status = 'timed_out'
    FROM due WHERE w.run_id = due.run_id AND w.step_id = due.step_id AND w.status = 'waiting'
    RETURNING w.run_id, w.step_id, w.deadline, w.ord
  ), step AS (
    UPDATE steps s SET status = 'done', output = '{"timed_out":true}', finished_at = $1
    FROM wait WHERE s.run_id = wait.run_id AND s.step_id = wait.step_id
  ), run AS (
    UPDATE runs r SET status = 'queued', available_at = $1, updated_at = $1
    FROM wait WHERE r.id = wait.run_id AND r.status = 'waiting'
  )
  SELECT run_id, step_id, pg_notify('${channel}', $3) FROM wait ORDER BY deadline, ord`;

const waitingSql = `
  SELECT ${eventColumnsOf('e')}, w.run_id, w.step_id, w.source AS wait_source, w.type AS wait_type,
    w.deadline, w.status AS wait_status, r.recipe, r.recipe_version
  FROM waits w JOIN runs r ON r.id = w.run_id JOIN events e ON e.seq = r.event_seq
  WHERE w.status = 'waiting' AND w.source = $1 ORDER BY w.ord`;

/** Events after the event `$1` (of source $2, or of any when null), in dispatch order (seq: see pendingSql). */
export const afterSql = `
  SELECT ${eventColumns} FROM events WHERE seq > $1 AND ($2::text IS NULL OR source = $2) ORDER BY seq LIMIT $3`;

export function postgresWaits(db: Db): WaitStore {
  const { pool } = db;
  return {
    waiting: async (source) => (await pool.query<WaitingRow>(waitingSql, [source])).rows.map(toWaiting),
    expire: async (now, limit) =>
      (await pool.query<{ run_id: string; step_id: string }>(expireSql, [now, limit, db.wake.runs])).rows.map((r) => ({
        runId: r.run_id,
        stepId: r.step_id,
      })),
    nextDeadline: async () => {
      const { rows } = await pool.query<{ deadline: number | null }>(`SELECT min(deadline) AS deadline FROM waits WHERE status = 'waiting'`);
      return rows[0]?.deadline ?? undefined;
    },
    lookBack: async ({ after: seq, source, limit }) => (await pool.query<EventRow>(afterSql, [seq, source ?? null, limit])).rows.map(toEvent),
  };
}
