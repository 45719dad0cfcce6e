import type Database from 'better-sqlite3';
import type { Announcement, ScheduleStore } from '../types.ts';
import { eventWriter } from './inbox.ts';
import type { Writer } from './writer.ts';

export function sqliteSchedules(db: Database.Database, writer: Writer): ScheduleStore {
  const append = eventWriter(db);
  const last = db.prepare(`SELECT max(tick) FROM schedule_ticks WHERE recipe = ?`).pluck();
  const insert = db.prepare(`INSERT INTO schedule_ticks (recipe, tick, fired_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`);
  const fire = db.transaction((recipe: string, tick: number, event: Announcement | undefined, now: number) => {
    if (insert.run(recipe, tick, now).changes !== 1) return false;
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
