import type { ScheduleStore } from '../types.ts';
import { transaction, type Db } from './db.ts';
import { appendEvents } from './inbox.ts';
import { keptMs } from '../sqlite/schedules.ts';

export function postgresSchedules(db: Db): ScheduleStore {
  return {
    lastTick: async (recipe) => {
      const { rows } = await db.pool.query<{ tick: number | null }>(`SELECT max(tick) AS tick FROM schedule_ticks WHERE recipe = $1`, [recipe]);
      const tick = rows[0]?.tick;
      return tick === null || tick === undefined ? undefined : Number(tick);
    },
    // The primary key decides between instances firing the same tick at once: the second insert
    // waits for the first transaction, then does nothing.
    fire: async (recipe, tick, event, now) => {
      const fired = await transaction(db.pool, async (client) => {
        // Ticks only move forward: a tick older than one recorded never fires (a late instance's).
        const { rowCount } = await client.query(
          `INSERT INTO schedule_ticks (recipe, tick, fired_at) SELECT $1, $2, $3
           WHERE NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE recipe = $1 AND tick >= $2) ON CONFLICT DO NOTHING`,
          [recipe, tick, now],
        );
        if (rowCount !== 1) return false;
        await client.query(`DELETE FROM schedule_ticks WHERE recipe = $1 AND tick < $2`, [recipe, tick - keptMs]);
        if (event) await appendEvents(db, client, [event]);
        return true;
      });
      if (fired && event) db.notify?.('events');
      return fired;
    },
  };
}
