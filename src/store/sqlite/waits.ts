import type Database from 'better-sqlite3';
import type { WaitResolution, WaitStore } from '../types.ts';
import { toEvent, toJson, toWaiting, type EventRow, type WaitingRow } from '../rows.ts';
import type { Writer } from './writer.ts';

/** Resolving a wait: only if still waiting; its step gets the output and its run is due now. */
export function waitResolver(db: Database.Database) {
  const claimWait = db.prepare(`UPDATE waits SET status = @status WHERE run_id = @runId AND step_id = @stepId AND status = 'waiting'`);
  const finishStep = db.prepare(`UPDATE steps SET status = 'done', output = @output, finished_at = @now WHERE run_id = @runId AND step_id = @stepId`);
  const wake = db.prepare(`UPDATE runs SET status = 'queued', available_at = @now, updated_at = @now WHERE id = @runId AND status = 'waiting'`);
  return (resolution: WaitResolution, status: 'matched' | 'timed_out', now: number): boolean => {
    if (claimWait.run({ ...resolution, status }).changes !== 1) return false;
    finishStep.run({ ...resolution, output: toJson(resolution.output), now });
    wake.run({ ...resolution, now });
    return true;
  };
}

export function sqliteWaits(db: Database.Database, writer: Writer): WaitStore {
  const resolve = waitResolver(db);
  const waiting = db.prepare(`
    SELECT e.*, w.run_id, w.step_id, w.source AS wait_source, w.type AS wait_type, w.deadline, w.status AS wait_status, r.recipe, r.recipe_version
    FROM waits w JOIN runs r ON r.id = w.run_id JOIN events e ON e.seq = r.event_seq
    WHERE w.status = 'waiting' AND w.source = ? ORDER BY w.rowid`);
  const due = db.prepare(`SELECT run_id, step_id FROM waits WHERE status = 'waiting' AND deadline <= ? ORDER BY deadline LIMIT ?`);
  const next = db.prepare(`SELECT min(deadline) FROM waits WHERE status = 'waiting'`).pluck();
  const after = db.prepare(`SELECT * FROM events WHERE seq > :after AND (:source IS NULL OR source = :source) ORDER BY seq LIMIT :limit`);

  const expireTx = db.transaction((now: number, limit: number) =>
    (due.all(now, limit) as Array<{ run_id: string; step_id: string }>)
      .map((w) => ({ runId: w.run_id, stepId: w.step_id }))
      .filter((w) => resolve({ ...w, output: { timed_out: true } }, 'timed_out', now)),
  );

  return {
    waiting: async (source) => (waiting.all(source) as WaitingRow[]).map(toWaiting),
    expire: (now, limit) => writer.write(() => expireTx(now, limit)),
    nextDeadline: async () => (next.get() as number | null) ?? undefined,
    lookBack: async ({ after: seq, source, limit }) => (after.all({ after: seq, source: source ?? null, limit }) as EventRow[]).map(toEvent),
  };
}
