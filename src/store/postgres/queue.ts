import { LeaseLostError } from '../../errors.ts';
import type { Announcement, AttemptRecord, ClaimedRun, Lease, NewWait, RunQueue, StepRecord } from '../types.ts';
import { channel, clean, sqlState, type Db } from './db.ts';
import { orderLock } from './inbox.ts';
import { toEvent, toJson, toRun, toStep, type EventRow, type RunRow, type StepRow } from '../rows.ts';

export const runColumns = 'id, event_seq, recipe, recipe_version, run_key, generation, status, lane, attempt, available_at, lease_owner, lease_until, created_at, updated_at, error, hold';
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
 * A transaction whose commit need not wait for its WAL flush (set inside the statement of an implicit
 * transaction). Only for writes whose loss in a crash of PostgreSQL itself puts nothing acknowledged
 * at risk: a claim or a lease renewed (the run is claimable again, as after a crash of hookline), a
 * dispatch that resolves no wait (the event is dispatched again). A later commit that does wait for
 * its flush makes every earlier one durable too: the WAL is written in order.
 */
export const noFlushWait = `(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`;

const eventOfClaim = ['seq', 'source', 'event_id', 'type', 'received_at', 'headers', 'body', 'test', 'status', 'generation', 'dispatch_error'];

/**
 * The queue's claim, as in pg-boss: lock due rows in order, skipping rows that a concurrent claim
 * holds (FOR UPDATE SKIP LOCKED), and lease them in the same statement. A row that another claim
 * leased and committed meanwhile is re-checked against the WHERE when locked, and dropped.
 * Every running run was due when it was claimed, so `available_at <= now` holds for expired leases too.
 * The lease is exclusive from the moment the rows are locked, so the commit does not wait for its flush.
 */
export const claimSql = `
  WITH due AS (
    SELECT id FROM runs
    WHERE ${noFlushWait} AND status IN ('queued', 'retrying', 'running') AND available_at <= $2
      AND (status <> 'running' OR lease_until < $2)
      AND (status = 'running' OR lane IS NULL OR NOT (lane = ANY($5::text[])))
      AND NOT EXISTS (SELECT 1 FROM paused_recipes p WHERE p.recipe = runs.recipe)
    ORDER BY available_at, ord
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE runs r SET status = 'running', lease_owner = $1, lease_until = $3, updated_at = $2
    FROM due WHERE r.id = due.id
    RETURNING ${qualified('r')}, r.ord
  )
  SELECT c.*, ${eventOfClaim.map((column) => `e.${column} AS e_${column}`).join(', ')}, ${stepsOf('c.id')}
  FROM claimed c JOIN events e ON e.seq = c.event_seq
  ORDER BY c.available_at, c.ord`;

/** What a worker write does to its run (see progressSql). */
type Kind = 'save' | 'park' | 'retry' | 'release' | 'hold' | 'finish';

/** One lease-checked write of a run's progress: saveStep, park, retryLater, release or finish. */
interface Progress {
  lease: Lease;
  kind: Kind;
  now: number;
  /** finish: done or dead; hold: the reason (rate:<connection>, circuit:<connection>). */
  status?: string | undefined;
  error?: string | null | undefined;
  availableAt?: number | undefined;
  /** undefined keeps the run's lane; null clears it. */
  nextLane?: string | null | undefined;
  step?: StepRecord | undefined;
  attempt?: AttemptRecord | undefined;
  wait?: NewWait | undefined;
  announce?: Announcement | undefined;
}

/**
 * Every write of a batch of runs' progress in one statement, so one commit: each run is updated only
 * if it is still running and leased by the writer (the lease check), then its step, attempt, wait and
 * announced event are stored, for the runs whose lease held only. Returns the ids whose lease held.
 * Announced events (hookline/run.dead) are stored as receives are: deduplicated, and numbered under
 * the order lock ($37, $38, see inbox.ts). Workers elsewhere are woken for a run released due now
 * ($35) and for announced events ($36).
 */
export const progressSql = `
  WITH input AS (
    SELECT * FROM unnest(
      $1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::boolean[], $9::text[],
      $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[],
      $15::text[], $16::integer[], $17::bigint[], $18::integer[], $19::text[], $20::integer[], $21::text[], $22::text[], $23::text[],
      $24::text[], $25::text[], $26::bigint[],
      $27::text[], $28::text[], $29::text[], $30::bigint[], $31::bigint[], $32::text[], $33::text[], $34::boolean[]
    ) WITH ORDINALITY AS i (
      run_id, owner, kind, now, status, error, available_at, keep_lane, lane,
      step_id, step_status, step_output, step_started, step_finished,
      a_step, a_attempt, a_started, a_duration, a_outcome, a_status, a_error, a_request, a_response,
      w_source, w_type, w_deadline,
      e_source, e_id, e_type, e_received, e_expires, e_headers, e_body, e_test, n)
  ), run AS (
    UPDATE runs r SET
      status = CASE WHEN i.kind = 'save' THEN 'running' WHEN i.kind = 'park' THEN 'waiting' WHEN i.kind = 'retry' THEN 'retrying'
        WHEN i.kind IN ('release', 'hold') THEN CASE WHEN r.attempt > 0 THEN 'retrying' ELSE 'queued' END ELSE i.status END,
      attempt = CASE i.kind WHEN 'save' THEN 0 WHEN 'retry' THEN r.attempt + 1 ELSE r.attempt END,
      error = CASE WHEN i.kind IN ('save', 'retry', 'finish') THEN i.error ELSE r.error END,
      available_at = CASE WHEN i.kind IN ('retry', 'release', 'hold') THEN i.available_at ELSE r.available_at END,
      hold = CASE WHEN i.kind = 'hold' THEN i.status END,
      lease_owner = CASE WHEN i.kind = 'save' THEN r.lease_owner END,
      lease_until = CASE WHEN i.kind = 'save' THEN r.lease_until END,
      lane = CASE WHEN i.keep_lane THEN r.lane ELSE i.lane END,
      updated_at = i.now
    FROM input i
    WHERE r.id = i.run_id AND r.lease_owner = i.owner AND r.status = 'running'
    RETURNING r.id
  ), held AS (
    SELECT i.* FROM input i JOIN run ON run.id = i.run_id
  ), step AS (
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    SELECT run_id, step_id, step_status, step_output, step_started, step_finished FROM held WHERE step_id IS NOT NULL ORDER BY n
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output, finished_at = EXCLUDED.finished_at
  ), attempt AS (
    INSERT INTO attempts (run_id, step_id, attempt, started_at, duration_ms, outcome, status_code, error, request, response)
    SELECT run_id, a_step, a_attempt, a_started, a_duration, a_outcome, a_status, a_error, a_request, a_response
    FROM held WHERE a_step IS NOT NULL ORDER BY n
  ), wait AS (
    INSERT INTO waits (run_id, step_id, source, type, deadline, status)
    SELECT run_id, step_id, w_source, w_type, w_deadline, 'waiting' FROM held WHERE kind = 'park'
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'waiting', deadline = EXCLUDED.deadline
  ), seen AS (
    INSERT INTO seen_events AS s (source, event_id, seen_at, expires_at)
    SELECT e_source, e_id, e_received, e_expires FROM held WHERE e_id IS NOT NULL ORDER BY n
    ON CONFLICT (source, event_id) DO UPDATE SET seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at
      WHERE s.expires_at <= EXCLUDED.seen_at
    RETURNING source, event_id
  ), ordered AS (
    SELECT pg_advisory_xact_lock($37, $38) FROM (SELECT count(*) AS n FROM seen) c WHERE c.n > 0
  ), stored AS (
    INSERT INTO events (source, event_id, type, received_at, headers, body, test)
    SELECT h.e_source, h.e_id, h.e_type, h.e_received, h.e_headers, h.e_body, h.e_test
    FROM held h JOIN seen ON seen.source = h.e_source AND seen.event_id = h.e_id CROSS JOIN ordered ORDER BY h.n
    RETURNING seq
  )
  SELECT id,
    (SELECT count(pg_notify('${channel}', $35)) FROM held WHERE kind = 'release' AND available_at <= now) AS woke_runs,
    (SELECT count(pg_notify('${channel}', $36)) FROM (SELECT 1 FROM stored LIMIT 1) x) AS woke_events
  FROM run`;

function progressParams(db: Db, batch: readonly Progress[]): unknown[] {
  const column = <T>(get: (p: Progress) => T) => batch.map(get);
  return [
    column((p) => p.lease.runId),
    column((p) => p.lease.owner),
    column((p) => p.kind),
    column((p) => p.now),
    column((p) => p.status ?? null),
    column((p) => clean(p.error ?? null)),
    column((p) => p.availableAt ?? null),
    column((p) => p.nextLane === undefined),
    column((p) => p.nextLane ?? null),
    column((p) => p.step?.stepId ?? null),
    column((p) => p.step?.status ?? null),
    column((p) => (p.step ? toJson(p.step.output) : null)),
    column((p) => p.step?.startedAt ?? null),
    column((p) => p.step?.finishedAt ?? null),
    column((p) => p.attempt?.stepId ?? null),
    column((p) => p.attempt?.attempt ?? null),
    column((p) => p.attempt?.startedAt ?? null),
    column((p) => (p.attempt ? Math.round(p.attempt.durationMs) : null)),
    column((p) => p.attempt?.outcome ?? null),
    column((p) => p.attempt?.statusCode ?? null),
    column((p) => clean(p.attempt?.error ?? null)),
    column((p) => (p.attempt ? toJson(p.attempt.request) : null)),
    column((p) => (p.attempt ? toJson(p.attempt.response) : null)),
    column((p) => p.wait?.source ?? null),
    column((p) => p.wait?.type ?? null),
    column((p) => p.wait?.deadline ?? null),
    column((p) => (p.announce ? clean(p.announce.event.source) : null)),
    column((p) => (p.announce ? clean(p.announce.event.eventId) : null)),
    column((p) => (p.announce ? clean(p.announce.event.type) : null)),
    column((p) => p.announce?.event.receivedAt ?? null),
    column((p) => (p.announce ? p.announce.event.receivedAt + p.announce.dedupTtlMs : null)),
    column((p) => (p.announce ? JSON.stringify(p.announce.event.headers) : null)),
    column((p) => p.announce?.event.body ?? null),
    column((p) => p.announce?.event.test ?? null),
    db.wake.runs,
    db.wake.events,
    ...orderLock(db),
  ];
}

/**
 * Group commit of the runs' progress: a write goes to the database at once while fewer than
 * `maxInFlight` statements run; the writes that arrive meanwhile wait and go together in the next
 * statement (one run at most once per statement: the engine awaits each write of a run before the
 * next). Should a batch fail for one write's values, each is tried again on its own.
 */
function progressWriter(db: Db, maxInFlight: number) {
  let queue: Array<{ progress: Progress; resolve: () => void; reject: (error: unknown) => void }> = [];
  let inFlight = 0;
  const run = async (batch: typeof queue) => {
    const { rows } = await db.pool.query<{ id: string }>(progressSql, progressParams(db, batch.map((w) => w.progress)));
    const held = new Set(rows.map((r) => r.id));
    for (const w of batch) {
      if (held.has(w.progress.lease.runId)) w.resolve();
      else w.reject(new LeaseLostError(w.progress.lease.runId));
    }
  };
  const flush = async () => {
    inFlight++;
    const ids = new Set<string>();
    const batch: typeof queue = [];
    const rest: typeof queue = [];
    for (const w of queue) {
      if (ids.has(w.progress.lease.runId) || batch.length >= 500) rest.push(w);
      else {
        ids.add(w.progress.lease.runId);
        batch.push(w);
      }
    }
    queue = rest;
    try {
      await run(batch);
    } catch (error) {
      if (batch.length > 1 && /^(22|23|54)/.test(sqlState(error) ?? '')) {
        for (const w of batch) await run([w]).catch(w.reject);
      } else {
        for (const w of batch) w.reject(error);
      }
    } finally {
      inFlight--;
      if (queue.length > 0 && inFlight < maxInFlight) void flush();
    }
  };
  return (progress: Progress) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ progress, resolve, reject });
      if (inFlight < maxInFlight) void flush();
    });
}

export const releaseOwnerSql = `
  UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = $2,
    lease_owner = NULL, lease_until = NULL, updated_at = $2
  WHERE lease_owner = $1 AND status = 'running'
  RETURNING pg_notify('${channel}', $3)`;

export function postgresQueue(db: Db, options: { maxInFlight: number }): RunQueue {
  const { pool } = db;
  const write = progressWriter(db, options.maxInFlight);

  return {
    claim: async ({ owner, now, leaseMs, limit, skipLanes = [] }) => {
      const { rows } = await pool.query<RunRow & Record<string, unknown> & { steps: StepRow[] }>(claimSql, [owner, now, now + leaseMs, limit, [...skipLanes]]);
      const eventOf = (row: Record<string, unknown>) => Object.fromEntries(eventOfClaim.map((column) => [column, row[`e_${column}`]])) as unknown as EventRow;
      return rows.map((row): ClaimedRun => ({ ...toRun(row), event: toEvent(eventOf(row)), steps: row.steps.map(toStep) }));
    },
    heartbeat: async (owner, runIds, leaseUntil) => {
      if (runIds.length === 0) return;
      await pool.query(`UPDATE runs SET lease_until = $1 WHERE ${noFlushWait} AND id = ANY($2::text[]) AND lease_owner = $3 AND status = 'running'`, [
        leaseUntil,
        runIds,
        owner,
      ]);
    },
    saveStep: (lease, { step, attempt, now, nextLane }) => write({ lease, kind: 'save', now, step, attempt, nextLane, error: null }),
    park: (lease, { wait, now, nextLane }) =>
      write({ lease, kind: 'park', now, wait, nextLane, step: { runId: lease.runId, stepId: wait.stepId, status: 'waiting', output: null, startedAt: now, finishedAt: null } }),
    retryLater: (lease, { attempt, availableAt, error, now }) => write({ lease, kind: 'retry', now, attempt, availableAt, error }),
    release: (lease, { availableAt, now }) => write({ lease, kind: 'release', now, availableAt }),
    hold: (lease, { reason, availableAt, attempt, now }) => write({ lease, kind: 'hold', now, availableAt, attempt, status: reason }),
    finish: (lease, { status, error, attempt, now, step, announce }) => write({ lease, kind: 'finish', now, status, error: error ?? null, attempt, step, announce }),
    nextDue: async () => {
      const { rows } = await pool.query<{ due: number | null }>(`
        SELECT min(available_at) AS due FROM runs r WHERE status IN ('queued', 'retrying') AND NOT EXISTS (SELECT 1 FROM paused_recipes p WHERE p.recipe = r.recipe)`);
      return rows[0]?.due ?? undefined;
    },
    leaseOwners: async () =>
      (await pool.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM runs WHERE status = 'running' AND lease_owner IS NOT NULL`)).rows.map(
        (r) => r.owner,
      ),
    releaseOwner: async (owner, now) => (await pool.query(releaseOwnerSql, [owner, now, db.wake.runs])).rowCount ?? 0,
  };
}
