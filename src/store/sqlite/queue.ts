import type Database from 'better-sqlite3';
import { LeaseLostError } from '../../errors.ts';
import type { AttemptRecord, ClaimedRun, Lease, NewWait, RetryResult, RunDetail, RunRecord, RunStatus, RunStore, StepRecord } from '../types.ts';
import { toAttempt, toEvent, toJson, toRun, toStep, type AttemptRow, type EventRow, type RunRow, type StepRow } from '../rows.ts';

const oldestFirst = (a: RunRow & { ord: number }, b: RunRow & { ord: number }) => a.available_at - b.available_at || a.ord - b.ord;

export function sqliteRuns(db: Database.Database): RunStore {
  // Two claims in one transaction: a dead worker's expired leases, then due runs in the order of the
  // partial indexes (INDEXED BY: without statistics SQLite would pick the status index and sort).
  const takeOver = db.prepare(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_until = @until, updated_at = @now
    WHERE id IN (SELECT id FROM runs INDEXED BY runs_leased WHERE status = 'running' AND lease_until < @now ORDER BY lease_until LIMIT @limit)
    RETURNING *, rowid AS ord`);
  const claimDue = db.prepare(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_until = @until, updated_at = @now
    WHERE id IN (
      SELECT id FROM runs INDEXED BY runs_due
      WHERE status IN ('queued', 'retrying') AND available_at <= @now
        AND (lane IS NULL OR lane NOT IN (SELECT value FROM json_each(@skip)))
      ORDER BY available_at, rowid LIMIT @limit)
    RETURNING *, rowid AS ord`);
  const eventOf = db.prepare(`SELECT * FROM events WHERE seq = ?`);
  const stepsOf = db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, rowid`);
  const attemptsOf = db.prepare(`SELECT * FROM attempts WHERE run_id = ? ORDER BY id`);
  const heartbeat = db.prepare(`UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'`);
  const touch = db.prepare(`
    UPDATE runs SET attempt = 0, error = NULL, updated_at = @now, lane = CASE WHEN @keepLane THEN lane ELSE @lane END
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const upsertStep = db.prepare(`
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    VALUES (@runId, @stepId, @status, @output, @startedAt, @finishedAt)
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, output = excluded.output, finished_at = excluded.finished_at`);
  const insertAttempt = db.prepare(`
    INSERT INTO attempts (run_id, step_id, attempt, started_at, duration_ms, outcome, status_code, error, request, response)
    VALUES (@runId, @stepId, @attempt, @startedAt, @durationMs, @outcome, @statusCode, @error, @request, @response)`);
  const toWaiting = db.prepare(`
    UPDATE runs SET status = 'waiting', lease_owner = NULL, lease_until = NULL, updated_at = @now,
      lane = CASE WHEN @keepLane THEN lane ELSE @lane END
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const upsertWait = db.prepare(`
    INSERT INTO waits (run_id, step_id, source, type, deadline, status) VALUES (@runId, @stepId, @source, @type, @deadline, 'waiting')
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'waiting', deadline = excluded.deadline`);
  const toRetrying = db.prepare(`
    UPDATE runs SET status = 'retrying', attempt = attempt + 1, available_at = @at, error = @error,
      lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const release = db.prepare(`
    UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = @at,
      lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const finish = db.prepare(`
    UPDATE runs SET status = @status, error = @error, lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const getRun = db.prepare(`SELECT * FROM runs WHERE id = ?`);
  const retry = db.prepare(`
    UPDATE runs SET status = 'queued', attempt = 0, available_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
    WHERE id = @id AND status = 'dead'`);
  const deadIds = db.prepare(`SELECT id FROM runs WHERE status = 'dead' ORDER BY id`).pluck();
  const list = db.prepare(`
    SELECT * FROM runs WHERE (:status IS NULL OR status = :status) AND (:recipe IS NULL OR recipe = :recipe)
      AND (:before IS NULL OR id < :before)
    ORDER BY id DESC LIMIT :limit`);
  const byEvent = db.prepare(`SELECT * FROM runs WHERE event_seq = ? ORDER BY id`);
  const counts = db.prepare(`SELECT status, count(*) AS n FROM runs GROUP BY status`);
  const nextDue = db.prepare(`SELECT min(available_at) FROM runs INDEXED BY runs_due WHERE status IN ('queued', 'retrying')`).pluck();
  const owners = db.prepare(`SELECT DISTINCT lease_owner FROM runs WHERE status = 'running' AND lease_owner IS NOT NULL`).pluck();
  const releaseOwner = db.prepare(`
    UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = @now,
      lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE lease_owner = @owner AND status = 'running'`);

  const attemptParams = (a: AttemptRecord) => ({
    runId: a.runId,
    stepId: a.stepId,
    attempt: a.attempt,
    startedAt: a.startedAt,
    durationMs: Math.round(a.durationMs),
    outcome: a.outcome,
    statusCode: a.statusCode ?? null,
    error: a.error ?? null,
    request: toJson(a.request),
    response: toJson(a.response),
  });
  const held = (changes: number, lease: Lease) => {
    if (changes !== 1) throw new LeaseLostError(lease.runId);
  };
  const detail = (row: RunRow): RunDetail => ({
    ...toRun(row),
    steps: (stepsOf.all(row.id) as StepRow[]).map(toStep),
    attempts: (attemptsOf.all(row.id) as AttemptRow[]).map(toAttempt),
  });

  // RETURNING yields rows in the order SQLite updated them, not the subquery's: sort them oldest first.
  const claimTx = db.transaction((owner: string, now: number, leaseMs: number, limit: number, skip: readonly string[]): ClaimedRun[] => {
    const params = { owner, now, until: now + leaseMs, limit, skip: JSON.stringify(skip) };
    const rows = takeOver.all(params) as Array<RunRow & { ord: number }>;
    if (rows.length < limit) rows.push(...(claimDue.all({ ...params, limit: limit - rows.length }) as Array<RunRow & { ord: number }>));
    return rows.sort(oldestFirst).map((row) => ({
      ...toRun(row),
      event: toEvent(eventOf.get(row.event_seq) as EventRow),
      steps: (stepsOf.all(row.id) as StepRow[]).map(toStep),
    }));
  });
  // `undefined` keeps the lane as it is; null clears it.
  const laneParams = (nextLane: string | null | undefined) => ({ keepLane: nextLane === undefined ? 1 : 0, lane: nextLane ?? null });
  const saveStepTx = db.transaction((lease: Lease, step: StepRecord, attempt: AttemptRecord | undefined, now: number, nextLane?: string | null) => {
    held(touch.run({ id: lease.runId, owner: lease.owner, now, ...laneParams(nextLane) }).changes, lease);
    upsertStep.run({ ...step, output: toJson(step.output) });
    if (attempt) insertAttempt.run(attemptParams(attempt));
  });
  const parkTx = db.transaction((lease: Lease, wait: NewWait, now: number, nextLane?: string | null) => {
    held(toWaiting.run({ id: lease.runId, owner: lease.owner, now, ...laneParams(nextLane) }).changes, lease);
    upsertStep.run({ runId: lease.runId, stepId: wait.stepId, status: 'waiting', output: null, startedAt: now, finishedAt: null });
    upsertWait.run({ runId: lease.runId, ...wait });
  });
  const retryLaterTx = db.transaction((lease: Lease, attempt: AttemptRecord, at: number, error: string, now: number) => {
    held(toRetrying.run({ id: lease.runId, owner: lease.owner, at, error, now }).changes, lease);
    insertAttempt.run(attemptParams(attempt));
  });
  const finishTx = db.transaction((lease: Lease, status: 'done' | 'dead', error: string | undefined, attempt: AttemptRecord | undefined, now: number, step?: StepRecord) => {
    held(finish.run({ id: lease.runId, owner: lease.owner, status, error: error ?? null, now }).changes, lease);
    if (step) upsertStep.run({ ...step, output: toJson(step.output) });
    if (attempt) insertAttempt.run(attemptParams(attempt));
  });
  const retryOne = (id: string, now: number): RetryResult => {
    const row = getRun.get(id) as RunRow | undefined;
    if (!row) return 'not_found';
    if (row.status !== 'dead') return 'not_dead';
    try {
      return retry.run({ id, now }).changes === 1 ? 'retried' : 'not_dead';
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'key_busy';
      throw error;
    }
  };

  return {
    claim: async (owner, now, leaseMs, limit, skipLanes = []) => claimTx.immediate(owner, now, leaseMs, limit, skipLanes),
    heartbeat: async (owner, runIds, leaseUntil) => {
      db.transaction(() => runIds.forEach((id) => heartbeat.run(leaseUntil, id, owner)))();
    },
    saveStep: async (lease, step, attempt, now, nextLane) => saveStepTx.immediate(lease, step, attempt, now, nextLane),
    park: async (lease, wait, now, nextLane) => parkTx.immediate(lease, wait, now, nextLane),
    retryLater: async (lease, attempt, at, error, now) => retryLaterTx.immediate(lease, attempt, at, error, now),
    release: async (lease, at, now) => held(release.run({ id: lease.runId, owner: lease.owner, at, now }).changes, lease),
    finish: async (lease, status, error, attempt, now, step) => finishTx.immediate(lease, status, error, attempt, now, step),
    retry: async (id, now) => retryOne(id, now),
    retryAllDead: async (now) => (deadIds.all() as string[]).filter((id) => retryOne(id, now) === 'retried').length,
    list: async (f) =>
      (list.all({ status: f.status ?? null, recipe: f.recipe ?? null, before: f.before ?? null, limit: f.limit ?? 50 }) as RunRow[]).map(toRun),
    get: async (id) => {
      const row = getRun.get(id) as RunRow | undefined;
      return row && detail(row);
    },
    forEvent: async (seq) => (byEvent.all(seq) as RunRow[]).map(detail),
    counts: async () => Object.fromEntries((counts.all() as Array<{ status: RunStatus; n: number }>).map((r) => [r.status, r.n])),
    nextDue: async () => (nextDue.get() as number | null) ?? undefined,
    leaseOwners: async () => owners.all() as string[],
    releaseOwner: async (owner, now) => releaseOwner.run({ owner, now }).changes,
  };
}
