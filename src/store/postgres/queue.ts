import { LeaseLostError } from '../../errors.ts';
import type { AttemptRecord, ClaimedRun, Lease, RunQueue } from '../types.ts';
import type { Pool, PoolClient } from 'pg';
import { channel, clean, transaction, type Db } from './db.ts';
import { appendEvents } from './inbox.ts';
import { toEvent, toJson, toRun, toStep, type EventRow, type RunRow, type StepRow } from '../rows.ts';

export const runColumns = 'id, event_seq, recipe, run_key, generation, status, lane, attempt, available_at, lease_owner, lease_until, created_at, updated_at, error';
export const qualified = (alias: string) => runColumns.split(', ').map((c) => `${alias}.${c}`).join(', ');

// Steps and attempts come back with their run as JSON arrays (one round trip); jsonb keeps bigints as numbers.
export const stepsOf = (run: string) => `
  coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', s.run_id, 'step_id', s.step_id, 'status', s.status, 'output', s.output,
    'started_at', s.started_at, 'finished_at', s.finished_at) ORDER BY s.started_at, s.ord)
    FROM steps s WHERE s.run_id = ${run}), '[]'::jsonb) AS steps`;
export const attemptsOf = (run: string) => `
  coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', a.run_id, 'step_id', a.step_id, 'attempt', a.attempt, 'started_at', a.started_at,
    'duration_ms', a.duration_ms, 'outcome', a.outcome, 'status_code', a.status_code, 'error', a.error, 'request', a.request,
    'response', a.response) ORDER BY a.id)
    FROM attempts a WHERE a.run_id = ${run}), '[]'::jsonb) AS attempts`;

// ---------------------------------------------------------------- SQL

/**
 * The queue's claim, as in pg-boss: lock due rows in order, skipping rows that a concurrent claim
 * holds (FOR UPDATE SKIP LOCKED), and lease them in the same statement. A row that another claim
 * leased and committed meanwhile is re-checked against the WHERE when locked, and dropped.
 * Every running run was due when it was claimed, so `available_at <= now` holds for expired leases too.
 */
export const claimSql = `
  WITH due AS (
    SELECT id FROM runs
    WHERE status IN ('queued', 'retrying', 'running') AND available_at <= $2
      AND (status <> 'running' OR lease_until < $2)
      AND (status = 'running' OR lane IS NULL OR NOT (lane = ANY($5::text[])))
    ORDER BY available_at, ord
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE runs r SET status = 'running', lease_owner = $1, lease_until = $3, updated_at = $2
    FROM due WHERE r.id = due.id
    RETURNING ${qualified('r')}, r.ord
  )
  SELECT c.*, to_jsonb(e) - 'xid' AS event, ${stepsOf('c.id')}
  FROM claimed c JOIN events e ON e.seq = c.event_seq
  ORDER BY c.available_at, c.ord`;

/** The lease check every worker write starts with: a run still running and still ours. */
const held = (set: string) => `
  UPDATE runs SET ${set}, updated_at = $3
  WHERE id = $1 AND lease_owner = $2 AND status = 'running'
  RETURNING id`;

/** Inserts the attempt whose values are at $n..$n+8, if there is one ($n, its step id, not null). */
const insertAttempt = (n: number) => `
  INSERT INTO attempts (run_id, step_id, attempt, started_at, duration_ms, outcome, status_code, error, request, response)
  SELECT id, $${n}::text, $${n + 1}::integer, $${n + 2}::bigint, $${n + 3}::integer, $${n + 4}::text, $${n + 5}::integer,
    $${n + 6}::text, $${n + 7}::text, $${n + 8}::text
  FROM run WHERE $${n}::text IS NOT NULL`;

function attemptParams(a: AttemptRecord | undefined): unknown[] {
  if (!a) return Array(9).fill(null);
  return [
    a.stepId,
    a.attempt,
    a.startedAt,
    Math.round(a.durationMs),
    a.outcome,
    a.statusCode ?? null,
    clean(a.error),
    toJson(a.request),
    toJson(a.response),
  ];
}

export const saveStepSql = `
  WITH run AS (${held('attempt = 0, error = NULL, lane = CASE WHEN $18::boolean THEN lane ELSE $19::text END')}),
  step AS (
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    SELECT id, $4::text, $5::text, $6::text, $7::bigint, $8::bigint FROM run
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output, finished_at = EXCLUDED.finished_at
  ),
  attempt AS (${insertAttempt(9)})
  SELECT count(*) AS held FROM run`;

export const parkSql = `
  WITH run AS (${held(`status = 'waiting', lease_owner = NULL, lease_until = NULL, lane = CASE WHEN $8::boolean THEN lane ELSE $9::text END`)}),
  step AS (
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    SELECT id, $4::text, 'waiting', NULL, $3::bigint, NULL FROM run
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'waiting', output = NULL, finished_at = NULL
  ),
  wait AS (
    INSERT INTO waits (run_id, step_id, source, type, deadline, status)
    SELECT id, $4::text, $5::text, $6::text, $7::bigint, 'waiting' FROM run
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'waiting', deadline = EXCLUDED.deadline
  )
  SELECT count(*) AS held FROM run`;

export const retryLaterSql = `
  WITH run AS (${held(`status = 'retrying', attempt = attempt + 1, available_at = $4, error = $5, lease_owner = NULL, lease_until = NULL`)}),
  attempt AS (${insertAttempt(6)})
  SELECT count(*) AS held FROM run`;

export const finishSql = `
  WITH run AS (${held(`status = $4, error = $5, lease_owner = NULL, lease_until = NULL`)}),
  attempt AS (${insertAttempt(6)}),
  step AS (
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    SELECT id, $15::text, $16::text, $17::text, $18::bigint, $19::bigint FROM run WHERE $15::text IS NOT NULL
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output, finished_at = EXCLUDED.finished_at
  )
  SELECT count(*) AS held FROM run`;

/** Back to the queue untouched; workers elsewhere are woken if it is due at once. */
export const releaseSql = `
  UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = $4::bigint,
    lease_owner = NULL, lease_until = NULL, updated_at = $3::bigint
  WHERE id = $1 AND lease_owner = $2 AND status = 'running'
  RETURNING (SELECT pg_notify('${channel}', $5) WHERE $4::bigint <= $3::bigint)`;

export const releaseOwnerSql = `
  UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = $2,
    lease_owner = NULL, lease_until = NULL, updated_at = $2
  WHERE lease_owner = $1 AND status = 'running'
  RETURNING pg_notify('${channel}', $3)`;

export function postgresQueue(db: Db): RunQueue {
  const { pool } = db;
  /** Runs a lease-checked write; none of it happens, and LeaseLostError is thrown, if the lease is gone. */
  const write = async (lease: Lease, sql: string, params: unknown[], on: Pool | PoolClient = pool) => {
    const { rows } = await on.query<{ held: number }>(sql, [lease.runId, lease.owner, ...params]);
    if (Number(rows[0]?.held) !== 1) throw new LeaseLostError(lease.runId);
  };

  return {
    claim: async ({ owner, now, leaseMs, limit, skipLanes = [] }) => {
      const { rows } = await pool.query<RunRow & { event: EventRow; steps: StepRow[] }>(claimSql, [owner, now, now + leaseMs, limit, [...skipLanes]]);
      return rows.map((row): ClaimedRun => ({ ...toRun(row), event: toEvent(row.event), steps: row.steps.map(toStep) }));
    },
    heartbeat: async (owner, runIds, leaseUntil) => {
      if (runIds.length === 0) return;
      await pool.query(`UPDATE runs SET lease_until = $1 WHERE id = ANY($2::text[]) AND lease_owner = $3 AND status = 'running'`, [
        leaseUntil,
        runIds,
        owner,
      ]);
    },
    // A lane of `undefined` keeps the run's lane as it is; null clears it.
    saveStep: (lease, { step, attempt, now, nextLane }) =>
      write(lease, saveStepSql, [now, step.stepId, step.status, toJson(step.output), step.startedAt, step.finishedAt, ...attemptParams(attempt), nextLane === undefined, nextLane ?? null]),
    park: (lease, { wait, now, nextLane }) => write(lease, parkSql, [now, wait.stepId, wait.source, wait.type, wait.deadline, nextLane === undefined, nextLane ?? null]),
    retryLater: (lease, { attempt, availableAt, error, now }) => write(lease, retryLaterSql, [now, availableAt, clean(error), ...attemptParams(attempt)]),
    release: async (lease, { availableAt, now }) => {
      const { rowCount } = await pool.query(releaseSql, [lease.runId, lease.owner, now, availableAt, db.wake.runs]);
      if (rowCount !== 1) throw new LeaseLostError(lease.runId);
    },
    finish: (lease, { status, error, attempt, now, step, announce }) => {
      const params = [now, status, clean(error), ...attemptParams(attempt), step?.stepId ?? null, step?.status ?? null, toJson(step?.output), step?.startedAt ?? null, step?.finishedAt ?? null];
      if (!announce) return write(lease, finishSql, params);
      // The announcement is stored only with the run's end: a lost lease rolls both back.
      return transaction(pool, async (client) => {
        await write(lease, finishSql, params, client);
        await appendEvents(db, client, [announce]);
      });
    },
    nextDue: async () => {
      const { rows } = await pool.query<{ due: number | null }>(`SELECT min(available_at) AS due FROM runs WHERE status IN ('queued', 'retrying')`);
      return rows[0]?.due ?? undefined;
    },
    leaseOwners: async () =>
      (await pool.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM runs WHERE status = 'running' AND lease_owner IS NOT NULL`)).rows.map(
        (r) => r.owner,
      ),
    releaseOwner: async (owner, now) => (await pool.query(releaseOwnerSql, [owner, now, db.wake.runs])).rowCount ?? 0,
  };
}
