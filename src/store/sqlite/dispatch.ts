import type Database from 'better-sqlite3';
import { Mutex } from '../../util/mutex.ts';
import type { DispatchOutcome, DispatchPlan, DispatchStore } from '../types.ts';
import { toEvent, type EventRow } from '../rows.ts';
import { eventWriter } from './inbox.ts';
import { waitResolver } from './waits.ts';
import type { Writer } from './writer.ts';

export function sqliteDispatch(db: Database.Database, writer: Writer): DispatchStore {
  const append = eventWriter(db);
  const resolve = waitResolver(db);
  const pending = db.prepare(`SELECT * FROM events WHERE status = 'received' ORDER BY seq LIMIT ?`);
  const markDispatched = db.prepare(`UPDATE events SET status = 'dispatched', dispatch_error = NULL WHERE seq = ? AND generation = ? AND status = 'received'`);
  const setAside = db.prepare(`UPDATE events SET status = 'failed', dispatch_error = ? WHERE seq = ? AND generation = ? AND status = 'received'`);
  const appendMessage = db.prepare(`
    INSERT INTO transcript_messages (conversation_id, message_id, event_seq, position, message)
    VALUES (@conversationId, @messageId, @eventSeq, @position, @message) ON CONFLICT DO NOTHING`);
  // OR IGNORE: the partial unique index on live (recipe, key) refuses a second live run.
  const insertRun = db.prepare(`
    INSERT OR IGNORE INTO runs (id, event_seq, recipe, recipe_version, run_key, generation, status, lane, available_at, created_at, updated_at, error, lease_owner, lease_until)
    VALUES (@id, @seq, @recipe, @version, @key, @generation, @status, @lane, @now, @now, @now, @error, @owner, @until)`);
  const holder = db.prepare(`
    SELECT id FROM runs WHERE recipe = ? AND run_key = ? AND status IN ('queued', 'running', 'retrying', 'waiting')`).pluck();
  const mutex = new Mutex();

  const commitOne = (plan: DispatchPlan): DispatchOutcome => {
    const outcome: DispatchOutcome = { created: [], keyBusy: [], resolved: [] };
    if (markDispatched.run(plan.seq, plan.generation).changes !== 1) return outcome;
    for (const m of plan.messages) appendMessage.run({ ...m, message: JSON.stringify(m.message) });
    for (const run of plan.runs) {
      const row = {
        id: run.id,
        recipe: run.recipe,
        version: run.version ?? null,
        status: run.lease ? 'running' : run.status,
        key: run.key ?? null,
        lane: run.lane ?? null,
        error: run.error ?? null,
        owner: run.lease?.owner ?? null,
        until: run.lease?.until ?? null,
        seq: plan.seq,
        generation: plan.generation,
        now: plan.now,
      };
      if (insertRun.run(row).changes === 1) {
        outcome.created.push(run.id);
      } else {
        const owner = holder.get(run.recipe, run.key) as string | undefined;
        insertRun.run({ ...row, status: 'skipped', owner: null, until: null, error: `key "${run.key}" is held by live run ${owner ?? '?'}` });
        outcome.keyBusy.push(run.id);
      }
    }
    for (const r of plan.resolutions) if (resolve(r, 'matched', plan.now)) outcome.resolved.push(r.runId);
    for (const a of plan.announce ?? []) append(a.event, a.dedupTtlMs);
    return outcome;
  };
  // One transaction for a batch of events: their page writes share one WAL append.
  const commit = db.transaction((plans: DispatchPlan[]) => plans.map(commitOne));

  return {
    pending: async (limit) => (pending.all(limit) as EventRow[]).map(toEvent),
    commit: (plans) => writer.write(() => commit(plans)),
    // One process owns a SQLite file, so an in-process lock excludes everyone who matters.
    withLock: (fn) => mutex.run(fn),
    setAside: async ({ seq, generation, error }) => setAside.run(error, seq, generation).changes === 1,
  };
}
