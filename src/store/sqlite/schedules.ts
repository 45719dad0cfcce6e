import type Database from 'better-sqlite3';
import type { Announcement, ScheduleStore } from '../types.ts';
import { eventWriter } from './inbox.ts';
import type { Writer } from './writer.ts';

/** Ticks kept per recipe (the latest decides; a week covers any instance running late). */
export const keptMs = 7 * 24 * 3600_000;

export function sqliteSchedules(db: Database.Database, writer: Writer): ScheduleStore {
  const append = eventWriter(db);
  const last = db.prepare(`SELECT max(tick) FROM schedule_ticks WHERE recipe = ?`).pluck();
  // Ticks only move forward: a tick older than one recorded never fires (a late instance's).
  const insert = db.prepare(`
    INSERT INTO schedule_ticks (recipe, tick, fired_at) SELECT @recipe, @tick, @now
    WHERE NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE recipe = @recipe AND tick >= @tick) ON CONFLICT DO NOTHING`);
  const prune = db.prepare(`DELETE FROM schedule_ticks WHERE recipe = ? AND tick < ?`);
  const fire = db.transaction((recipe: string, tick: number, event: Announcement | undefined, now: number) => {
    if (insert.run({ recipe, tick, now }).changes !== 1) return false;
    prune.run(recipe, tick - keptMs);
    if (event) append(event.event, event.dedupTtlMs);
    return true;
  });
  return {
    lastTick: async (recipe) => {
      const tick = last.get(recipe) as number | null;
      return tick === null ? undefined : Number(tick);
    },
    fire: (recipe, tick, event, now) => writer.write(() => fire(recipe, tick, event, now)),
  };
}
