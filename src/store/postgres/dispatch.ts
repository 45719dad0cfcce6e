import type { Pool } from 'pg';
import { Mutex } from '../../util/mutex.ts';
import { liveStatuses, type DispatchOutcome, type DispatchPlan, type DispatchStore, type NewRun } from '../types.ts';
import { checkin, checkout, clean, lockKey, transaction, type Db } from './db.ts';
import { toEvent, type EventRow } from '../rows.ts';
import { appendEvents, eventColumns } from './inbox.ts';
import { resolveWait } from './waits.ts';

/**
 * Events not yet dispatched, in dispatch order. Every event takes its seq under the order lock held
 * until its transaction commits (see receiveSql in inbox.ts), so seq order is commit order and the
 * events visible now are a prefix of the final order: one that commits later has a larger seq.
 */
export const pendingSql = `
  SELECT ${eventColumns} FROM events WHERE status = 'received' ORDER BY seq LIMIT $1`;

/** Flips the batch's events from received to dispatched; returns those it flipped (another instance may have taken the others). */
const markDispatchedSql = `
  UPDATE events e SET status = 'dispatched', dispatch_error = NULL
  FROM unnest($1::bigint[], $2::integer[]) AS p (seq, generation)
  WHERE e.seq = p.seq AND e.generation = p.generation AND e.status = 'received'
  RETURNING e.seq`;

/** Runs without a key, which nothing can refuse, in one statement. */
const insertRunsSql = `
  INSERT INTO runs (id, event_seq, recipe, generation, status, available_at, created_at, updated_at, error, lane, lease_owner, lease_until, recipe_version)
  SELECT id, seq, recipe, generation, status, now, now, now, error, lane, owner, until, version
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])
    WITH ORDINALITY AS r (id, seq, recipe, generation, status, now, error, lane, owner, until, version, n)
  ORDER BY n`;

const setAsideSql = `UPDATE events SET status = 'failed', dispatch_error = $3 WHERE seq = $1 AND generation = $2 AND status = 'received'`;


const appendMessagesSql = `
  INSERT INTO transcript_messages (conversation_id, message_id, event_seq, position, message)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::text[])
  ON CONFLICT (conversation_id, message_id) DO NOTHING`;

const live = liveStatuses.map((s) => `'${s}'`).join(', ');

/** The partial unique index on live (recipe, key) refuses a second live run: DO NOTHING, no row returned. */
const insertRunSql = `
  INSERT INTO runs (id, event_seq, recipe, run_key, generation, status, available_at, created_at, updated_at, error, lane, lease_owner, lease_until, recipe_version)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (recipe, run_key) WHERE run_key IS NOT NULL AND status IN (${live}) DO NOTHING
  RETURNING id`;

const insertSkippedSql = `
  INSERT INTO runs (id, event_seq, recipe, run_key, generation, status, available_at, created_at, updated_at, error)
  VALUES ($1, $2, $3, $4, $5, 'skipped', $6, $6, $6,
    'key "' || $4 || '" is held by live run ' ||
      coalesce((SELECT id FROM runs WHERE recipe = $3 AND run_key = $4 AND status IN (${live}) LIMIT 1), '?'))`;

function runParams(run: NewRun, plan: DispatchPlan): unknown[] {
  return [run.id, plan.seq, run.recipe, run.key ?? null, plan.generation, run.lease ? 'running' : run.status, plan.now, clean(run.error), run.lane ?? null, run.lease?.owner ?? null, run.lease?.until ?? null, run.version ?? null];
}

/**
 * Every plan in one transaction, in a few statements whatever the number of events: one commit
 * serves a batch of events. Only the plans whose event this transaction flips from received are
 * applied; the others (dispatched by another instance meanwhile) change nothing. A batch that
 * resolves no wait and announces nothing does not wait for its WAL flush: lost in a crash of
 * PostgreSQL, its events would be dispatched again, as after a crash of hookline.
 */
async function commit(db: Db, plans: DispatchPlan[]): Promise<DispatchOutcome[]> {
  const flushWait = plans.some((p) => p.resolutions.length > 0 || (p.announce?.length ?? 0) > 0);
  return transaction(db.pool, async (client) => {
    const outcomes = plans.map((): DispatchOutcome => ({ created: [], keyBusy: [], resolved: [] }));
    const { rows } = await client.query<{ seq: number }>(markDispatchedSql, [plans.map((p) => p.seq), plans.map((p) => p.generation)]);
    const flipped = new Set(rows.map((r) => Number(r.seq)));
    const applied = plans.flatMap((plan, i) => (flipped.has(plan.seq) ? [{ plan, outcome: outcomes[i]! }] : []));
    const messages = applied.flatMap(({ plan }) => plan.messages);
    if (messages.length > 0) {
      await client.query(appendMessagesSql, [
        messages.map((x) => x.conversationId),
        messages.map((x) => x.messageId),
        messages.map((x) => x.eventSeq),
        messages.map((x) => x.position),
        messages.map((x) => JSON.stringify(x.message)),
      ]);
    }
    const keyless = applied.flatMap(({ plan, outcome }) => plan.runs.filter((r) => r.key === undefined).map((run) => ({ plan, run, outcome })));
    if (keyless.length > 0) {
      await client.query(insertRunsSql, [
        keyless.map((k) => k.run.id),
        keyless.map((k) => k.plan.seq),
        keyless.map((k) => k.run.recipe),
        keyless.map((k) => k.plan.generation),
        keyless.map((k) => (k.run.lease ? 'running' : k.run.status)),
        keyless.map((k) => k.plan.now),
        keyless.map((k) => clean(k.run.error ?? null)),
        keyless.map((k) => k.run.lane ?? null),
        keyless.map((k) => k.run.lease?.owner ?? null),
        keyless.map((k) => k.run.lease?.until ?? null),
        keyless.map((k) => k.run.version ?? null),
      ]);
      for (const k of keyless) k.outcome.created.push(k.run.id);
    }
    let due = keyless.some((k) => k.run.status === 'queued' && !k.run.lease);
    // Runs with a key, one at a time in plan order: a live run with the same key refuses the next.
    for (const { plan, outcome } of applied) {
      for (const run of plan.runs.filter((r) => r.key !== undefined)) {
        if ((await client.query(insertRunSql, runParams(run, plan))).rowCount === 1) {
          outcome.created.push(run.id);
          due ||= run.status === 'queued' && !run.lease;
        } else {
          await client.query(insertSkippedSql, [run.id, plan.seq, run.recipe, run.key, plan.generation, plan.now]);
          outcome.keyBusy.push(run.id);
        }
      }
      for (const r of plan.resolutions) {
        if (await resolveWait(db, client, r, 'matched', plan.now)) outcome.resolved.push(r.runId);
      }
    }
    // Created runs come out in plan order, as one at a time would have.
    for (const { plan, outcome } of applied) outcome.created.sort((a, b) => plan.runs.findIndex((r) => r.id === a) - plan.runs.findIndex((r) => r.id === b));
    const announced = await appendEvents(db, client, applied.flatMap(({ plan }) => plan.announce ?? []));
    return { outcomes, due, announced };
  }, { flushWait }).then(({ outcomes, due, announced }) => {
    if (due) db.notify?.('runs');
    if (announced > 0) db.notify?.('events');
    return outcomes;
  });
}

/**
 * Mutual exclusion across instances: a session-level advisory lock, taken on a connection of its own
 * pool (`fn` needs the main pool's connections). Should this process die, its connection drops and
 * the server releases the lock. Callers in this process queue on a mutex first, so that one
 * connection suffices.
 */
function advisoryLock(lockPool: Pool, key: [number, number]) {
  const mutex = new Mutex();
  return <T>(fn: () => Promise<T>): Promise<T> =>
    mutex.run(async () => {
      const client = await checkout(lockPool);
      let locked = false;
      try {
        await client.query('SELECT pg_advisory_lock($1, $2)', key);
        locked = true;
        return await fn();
      } finally {
        if (locked) {
          await client.query('SELECT pg_advisory_unlock($1, $2)', key).then(
            () => checkin(client),
            // Unlock failed: the connection is broken, and closing it is what releases the lock.
            (error: Error) => checkin(client, error),
          );
        } else {
          checkin(client, true);
        }
      }
    });
}

export function postgresDispatch(db: Db, lockPool: Pool): DispatchStore {
  return {
    pending: async (limit) => (await db.pool.query<EventRow>(pendingSql, [limit])).rows.map(toEvent),
    commit: (plans) => commit(db, plans),
    withLock: advisoryLock(lockPool, lockKey('dispatch', db.schema)),
    setAside: async ({ seq, generation, error }) => (await db.pool.query(setAsideSql, [seq, generation, clean(error)])).rowCount === 1,
  };
}
