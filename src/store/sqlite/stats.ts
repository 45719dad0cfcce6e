import type Database from 'better-sqlite3';
import type { KindStats, StoreStats } from '../ports/lifecycle.ts';

const autoVacuumModes = ['none', 'full', 'incremental'];

/** Rows and bytes per table (bytes with their indexes, from dbstat when SQLite has it), file size and freelist. */
export function sqliteStatsOf(db: Database.Database): Omit<StoreStats, 'lastPrune'> {
  const objects = db.prepare(`SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'`).all() as Array<{
    name: string;
    tbl_name: string;
    type: string;
  }>;
  const tables: Record<string, KindStats> = {};
  for (const o of objects) if (o.type === 'table') tables[o.name] = { rows: db.prepare(`SELECT count(*) FROM "${o.name}"`).pluck().get() as number, bytes: null };
  try {
    const owner = new Map(objects.map((o) => [o.name, o.tbl_name]));
    for (const row of db.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name`).all() as Array<{ name: string; bytes: number }>) {
      const table = tables[owner.get(row.name) ?? ''];
      if (table) table.bytes = (table.bytes ?? 0) + row.bytes;
    }
  } catch {
    // Built without SQLITE_ENABLE_DBSTAT_VTAB: rows only.
  }
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const oldest = db.prepare(`SELECT received_at FROM events ORDER BY seq LIMIT 1`).pluck().get() as number | undefined;
  return {
    backend: 'sqlite',
    tables,
    database: {
      bytes: (db.pragma('page_count', { simple: true }) as number) * pageSize,
      freeBytes: (db.pragma('freelist_count', { simple: true }) as number) * pageSize,
      autoVacuum: autoVacuumModes[db.pragma('auto_vacuum', { simple: true }) as number] ?? 'unknown',
    },
    oldestEventAt: oldest ?? null,
  };
}
