import { sqlState, channel, type Db } from './db.ts';
import type { Operations, RetryResult } from '../types.ts';

/** The partial unique index refuses it (23505) when a live run holds the key. */
export const retrySql = `
  UPDATE runs SET status = 'queued', attempt = 0, available_at = $2, updated_at = $2, lease_owner = NULL, lease_until = NULL
  WHERE id = $1 AND status = 'dead'
  RETURNING pg_notify('${channel}', $3)`;

/** A set-aside event back to received; the dispatchers are woken. */
const redispatchSql = `UPDATE events SET status = 'received' WHERE seq = $1 AND status = 'failed' RETURNING pg_notify('${channel}', $2)`;

export function postgresOperations(db: Db): Operations {
  const { pool } = db;
  const retryOne = async (id: string, now: number): Promise<RetryResult> => {
    try {
      if ((await pool.query(retrySql, [id, now, db.wake.runs])).rowCount === 1) return 'retried';
    } catch (error) {
      if (sqlState(error) === '23505' && (error as { constraint?: string }).constraint === 'runs_live_key') return 'key_busy';
      throw error;
    }
    const { rows } = await pool.query('SELECT 1 FROM runs WHERE id = $1', [id]);
    return rows.length === 0 ? 'not_found' : 'not_dead';
  };
  return {
    replay: async (seq) => {
      const { rowCount } = await pool.query(
        `UPDATE events SET status = 'received', generation = generation + 1 WHERE seq = $1 RETURNING pg_notify('${channel}', $2)`,
        [seq, db.wake.events],
      );
      return rowCount === 1;
    },
    redispatch: async (seq) => (await pool.query(redispatchSql, [seq, db.wake.events])).rowCount === 1,
    retryRun: retryOne,
    retryAllDead: async (now) => {
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM runs WHERE status = 'dead' ORDER BY id`);
      let retried = 0;
      for (const { id } of rows) if ((await retryOne(id, now)) === 'retried') retried++;
      return retried;
    },
  };
}
