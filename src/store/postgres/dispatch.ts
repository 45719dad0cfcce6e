import type { Pool, PoolClient } from 'pg';
import { Mutex } from '../../util/mutex.ts';
import { liveStatuses, type DispatchOutcome, type DispatchPlan, type DispatchStore, type NewRun } from '../types.ts';
import { channel, checkin, checkout, clean, lockKey, transaction, type Db } from './db.ts';
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

const markDispatchedSql = `UPDATE events SET status = 'dispatched', dispatch_error = NULL WHERE seq = $1 AND generation = $2 AND status = 'received'`;

const setAsideSql = `UPDATE events SET status = 'failed', dispatch_error = $3 WHERE seq = $1 AND generation = $2 AND status = 'received'`;


const appendMessagesSql = `
  INSERT INTO transcript_messages (conversation_id, message_id, event_seq, position, message)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::text[])
  ON CONFLICT (conversation_id, message_id) DO NOTHING`;

const live = liveStatuses.map((s) => `'${s}'`).join(', ');

/** The partial unique index on live (recipe, key) refuses a second live run: DO NOTHING, no row returned. */
const insertRunSql = `
  INSERT INTO runs (id, event_seq, recipe, run_key, generation, status, available_at, created_at, updated_at, error, lane)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9)
  ON CONFLICT (recipe, run_key) WHERE run_key IS NOT NULL AND status IN (${live}) DO NOTHING
  RETURNING id`;

const insertSkippedSql = `
  INSERT INTO runs (id, event_seq, recipe, run_key, generation, status, available_at, created_at, updated_at, error)
  VALUES ($1, $2, $3, $4, $5, 'skipped', $6, $6, $6,
    'key "' || $4 || '" is held by live run ' ||
      coalesce((SELECT id FROM runs WHERE recipe = $3 AND run_key = $4 AND status IN (${live}) LIMIT 1), '?'))`;

function runParams(run: NewRun, plan: DispatchPlan): unknown[] {
  return [run.id, plan.seq, run.recipe, run.key ?? null, plan.generation, run.status, plan.now, clean(run.error), run.lane ?? null];
}

/** Every plan in one transaction: one commit serves a batch of events. */
async function commit(db: Db, plans: DispatchPlan[]): Promise<DispatchOutcome[]> {
  return transaction(db.pool, async (client) => {
    const outcomes: DispatchOutcome[] = [];
    let due = false;
    for (const plan of plans) {
      const { outcome, runsDue } = await commitOne(db, client, plan);
      outcomes.push(outcome);
      due ||= runsDue;
    }
    if (due) await client.query(`SELECT pg_notify('${channel}', $1)`, [db.wake.runs]);
    return outcomes;
  });
}

async function commitOne(db: Db, client: PoolClient, plan: DispatchPlan): Promise<{ outcome: DispatchOutcome; runsDue: boolean }> {
  const outcome: DispatchOutcome = { created: [], keyBusy: [], resolved: [] };
  {
    // Only the instance that flips the event from received does the rest; the others change nothing.
    if ((await client.query(markDispatchedSql, [plan.seq, plan.generation])).rowCount !== 1) return { outcome, runsDue: false };
    if (plan.messages.length > 0) {
      const m = plan.messages;
      await client.query(appendMessagesSql, [
        m.map((x) => x.conversationId),
        m.map((x) => x.messageId),
        m.map((x) => x.eventSeq),
        m.map((x) => x.position),
        m.map((x) => JSON.stringify(x.message)),
      ]);
    }
    let due = false;
    for (const run of plan.runs) {
      const params = runParams(run, plan);
      if ((await client.query(insertRunSql, params)).rowCount === 1) {
        outcome.created.push(run.id);
        due ||= run.status === 'queued';
      } else {
        await client.query(insertSkippedSql, [run.id, plan.seq, run.recipe, run.key, plan.generation, plan.now]);
        outcome.keyBusy.push(run.id);
      }
    }
    for (const r of plan.resolutions) {
      if (await resolveWait(db, client, r, 'matched', plan.now)) outcome.resolved.push(r.runId);
    }
    await appendEvents(db, client, plan.announce ?? []);
    return { outcome, runsDue: due };
  }
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
