import type Database from 'better-sqlite3';
import type { RunRow } from '../rows.ts';
import type { Operations, RetryResult } from '../types.ts';

export function sqliteOperations(db: Database.Database): Operations {
  const replay = db.prepare(`UPDATE events SET status = 'received', generation = generation + 1 WHERE seq = ?`);
  const redispatch = db.prepare(`UPDATE events SET status = 'received' WHERE seq = ? AND status = 'failed'`);
  const getRun = db.prepare(`SELECT status FROM runs WHERE id = ?`);
  const retry = db.prepare(`
    UPDATE runs SET status = 'queued', attempt = 0, available_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
    WHERE id = @id AND status = 'dead'`);
  const deadIds = db.prepare(`SELECT id FROM runs WHERE status = 'dead' ORDER BY id`).pluck();

  const retryOne = (id: string, now: number): RetryResult => {
    const row = getRun.get(id) as Pick<RunRow, 'status'> | undefined;
    if (!row) return 'not_found';
    if (row.status !== 'dead') return 'not_dead';
    try {
      return retry.run({ id, now }).changes === 1 ? 'retried' : 'not_dead';
    } catch (error) {
      // The partial unique index on live (recipe, key): another live run holds the key.
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'key_busy';
      throw error;
    }
  };

  return {
    replay: async (seq) => replay.run(seq).changes === 1,
    redispatch: async (seq) => redispatch.run(seq).changes === 1,
    retryRun: async (id, now) => retryOne(id, now),
    retryAllDead: async (now) => (deadIds.all() as string[]).filter((id) => retryOne(id, now) === 'retried').length,
  };
}
