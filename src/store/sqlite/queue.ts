import type Database from 'better-sqlite3';
import { LeaseLostError } from '../../errors.ts';
import type { AttemptRecord, ClaimedRun, ClaimRequest, Finish, Hold, Lease, Park, RetryLater, RunQueue, SaveStep } from '../types.ts';
import { toEvent, toJson, toRun, toStep, type EventRow, type RunRow, type StepRow } from '../rows.ts';
import { eventWriter } from './inbox.ts';
import type { Writer } from './writer.ts';

const oldestFirst = (a: RunRow & { ord: number }, b: RunRow & { ord: number }) => a.available_at - b.available_at || a.ord - b.ord;

export function sqliteQueue(db: Database.Database, writer: Writer): RunQueue {
  const append = eventWriter(db);
  // Two claims in one transaction: a dead worker's expired leases, then due runs in the order of the
  // partial indexes (INDEXED BY: without statistics SQLite would pick the status index and sort).
  const takeOver = db.prepare(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_until = @until, updated_at = @now
    WHERE id IN (SELECT id FROM runs INDEXED BY runs_leased WHERE status = 'running' AND lease_until < @now AND recipe NOT IN (SELECT recipe FROM paused_recipes) ORDER BY lease_until LIMIT @limit)
    RETURNING *, rowid AS ord`);
  const claimDue = db.prepare(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_until = @until, updated_at = @now
    WHERE id IN (
      SELECT id FROM runs INDEXED BY runs_due
      WHERE status IN ('queued', 'retrying') AND available_at <= @now
        AND (lane IS NULL OR lane NOT IN (SELECT value FROM json_each(@skip)))
        AND recipe NOT IN (SELECT recipe FROM paused_recipes)
      ORDER BY available_at, rowid LIMIT @limit)
    RETURNING *, rowid AS ord`);
  const eventOf = db.prepare(`SELECT * FROM events WHERE seq = ?`);
  const stepsOf = db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY started_at, rowid`);
  const heartbeat = db.prepare(`UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'`);
  const touch = db.prepare(`
    UPDATE runs SET attempt = 0, error = NULL, hold = NULL, updated_at = @now, lane = CASE WHEN @keepLane THEN lane ELSE @lane END
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const upsertStep = db.prepare(`
    INSERT INTO steps (run_id, step_id, status, output, started_at, finished_at)
    VALUES (@runId, @stepId, @status, @output, @startedAt, @finishedAt)
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, output = excluded.output, finished_at = excluded.finished_at`);
  const insertAttempt = db.prepare(`
    INSERT INTO attempts (run_id, step_id, attempt, started_at, duration_ms, outcome, status_code, error, request, response)
    VALUES (@runId, @stepId, @attempt, @startedAt, @durationMs, @outcome, @statusCode, @error, @request, @response)`);
  const toWaiting = db.prepare(`
    UPDATE runs SET status = 'waiting', hold = NULL, lease_owner = NULL, lease_until = NULL, updated_at = @now,
      lane = CASE WHEN @keepLane THEN lane ELSE @lane END
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const upsertWait = db.prepare(`
    INSERT INTO waits (run_id, step_id, source, type, deadline, status) VALUES (@runId, @stepId, @source, @type, @deadline, 'waiting')
    ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'waiting', deadline = excluded.deadline`);
  const toRetrying = db.prepare(`
    UPDATE runs SET status = 'retrying', attempt = attempt + 1, available_at = @at, error = @error, hold = NULL,
      lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const release = db.prepare(`
    UPDATE runs SET status = CASE WHEN attempt > 0 THEN 'retrying' ELSE 'queued' END, available_at = @at, hold = @hold,
      lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const finish = db.prepare(`
    UPDATE runs SET status = @status, error = @error, hold = NULL, lease_owner = NULL, lease_until = NULL, updated_at = @now
    WHERE id = @id AND lease_owner = @owner AND status = 'running'`);
  const nextDue = db.prepare(`
    SELECT min(available_at) FROM runs INDEXED BY runs_due WHERE status IN ('queued', 'retrying') AND recipe NOT IN (SELECT recipe FROM paused_recipes)`).pluck();
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

  // RETURNING yields rows in the order SQLite updated them, not the subquery's: sort them oldest first.
  const claimTx = db.transaction(({ owner, now, leaseMs, limit, skipLanes = [] }: ClaimRequest): ClaimedRun[] => {
    const params = { owner, now, until: now + leaseMs, limit, skip: JSON.stringify(skipLanes) };
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
  const saveStepTx = db.transaction((lease: Lease, { step, attempt, now, nextLane }: SaveStep) => {
    held(touch.run({ id: lease.runId, owner: lease.owner, now, ...laneParams(nextLane) }).changes, lease);
    upsertStep.run({ ...step, output: toJson(step.output) });
    if (attempt) insertAttempt.run(attemptParams(attempt));
  });
  const parkTx = db.transaction((lease: Lease, { wait, now, nextLane }: Park) => {
    held(toWaiting.run({ id: lease.runId, owner: lease.owner, now, ...laneParams(nextLane) }).changes, lease);
    upsertStep.run({ runId: lease.runId, stepId: wait.stepId, status: 'waiting', output: null, startedAt: now, finishedAt: null });
    upsertWait.run({ runId: lease.runId, ...wait });
  });
  const heartbeatTx = db.transaction((owner: string, runIds: readonly string[], leaseUntil: number) => runIds.forEach((id) => heartbeat.run(leaseUntil, id, owner)));
  const releaseTx = db.transaction((lease: Lease, at: number, now: number) => held(release.run({ id: lease.runId, owner: lease.owner, at, now, hold: null }).changes, lease));
  const holdTx = db.transaction((lease: Lease, { reason, availableAt, attempt, now }: Hold) => {
    held(release.run({ id: lease.runId, owner: lease.owner, at: availableAt, now, hold: reason }).changes, lease);
    if (attempt) insertAttempt.run(attemptParams(attempt));
  });
  const retryLaterTx = db.transaction((lease: Lease, { attempt, availableAt, error, now }: RetryLater) => {
    held(toRetrying.run({ id: lease.runId, owner: lease.owner, at: availableAt, error, now }).changes, lease);
    insertAttempt.run(attemptParams(attempt));
  });
  const finishTx = db.transaction((lease: Lease, { status, error, attempt, now, step, announce }: Finish) => {
    held(finish.run({ id: lease.runId, owner: lease.owner, status, error: error ?? null, now }).changes, lease);
    if (announce) append(announce.event, announce.dedupTtlMs);
    if (step) upsertStep.run({ ...step, output: toJson(step.output) });
    if (attempt) insertAttempt.run(attemptParams(attempt));
  });
  return {
    // Every write goes through the group commit (writer.ts): the claims, step results and run ends
    // of one turn of the event loop share one transaction.
    claim: (request) => writer.write(() => claimTx(request)),
    heartbeat: (owner, runIds, leaseUntil) => writer.write(() => heartbeatTx(owner, runIds, leaseUntil)),
    saveStep: (lease, save) => writer.write(() => saveStepTx(lease, save)),
    park: (lease, park) => writer.write(() => parkTx(lease, park)),
    retryLater: (lease, retry) => writer.write(() => retryLaterTx(lease, retry)),
    release: (lease, { availableAt, now }) => writer.write(() => releaseTx(lease, availableAt, now)),
    hold: (lease, hold) => writer.write(() => holdTx(lease, hold)),
    finish: (lease, finish) => writer.write(() => finishTx(lease, finish)),
    nextDue: async () => (nextDue.get() as number | null) ?? undefined,
    leaseOwners: async () => owners.all() as string[],
    releaseOwner: async (owner, now) => releaseOwner.run({ owner, now }).changes,
  };
}
