import type Database from 'better-sqlite3';
import { NonRetryableError } from '../../errors.ts';
import { checkTable } from '../table-names.ts';
import type { ReadModel, TableRecords } from '../types.ts';

/** The `store` action's tables: created on first use, a column added for each new key. */
export function sqliteTables(db: Database.Database): TableRecords & Pick<ReadModel, 'tableRows'> {
  const register = db.prepare(`
    INSERT INTO store_tables (name, columns, created_at) VALUES (?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET columns = excluded.columns`);
  const known = db.prepare(`SELECT columns FROM store_tables WHERE name = ?`).pluck();
  const objectType = db.prepare(`SELECT type FROM sqlite_master WHERE name = ?`).pluck();

  const insert = db.transaction((table: string, row: Record<string, unknown>, key: string, now: number) => {
    const columns = checkTable(table, row as never);
    // SQLite keeps its own tables under this prefix and refuses to create one there.
    if (table.startsWith('sqlite_')) throw new NonRetryableError(`store: table names starting with "sqlite_" are SQLite's own; choose another name`);
    const existing = known.get(table) as string | undefined;
    const have: string[] = existing ? JSON.parse(existing) : [];
    if (!existing) {
      // Tables share their namespace with indexes (hookline's own, and those of other tables).
      const taken = objectType.get(table) as string | undefined;
      if (taken !== undefined && taken !== 'table') throw new NonRetryableError(`store: the name "${table}" is taken by an ${taken} of the database; choose another name`);
      db.exec(`CREATE TABLE IF NOT EXISTS "${table}" (
        row_id INTEGER PRIMARY KEY AUTOINCREMENT, stored_at INTEGER NOT NULL, idempotency_key TEXT NOT NULL UNIQUE)`);
    }
    const added = columns.filter((c) => !have.includes(c));
    for (const column of added) db.exec(`ALTER TABLE "${table}" ADD COLUMN "${column}"`);
    if (added.length > 0 || !existing) register.run(table, JSON.stringify([...have, ...added]), now);
    const values = columns.map((c) => {
      const v = row[c];
      return typeof v === 'boolean' ? Number(v) : v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
    });
    const sql = `INSERT OR IGNORE INTO "${table}" (stored_at, idempotency_key, ${columns.map((c) => `"${c}"`).join(', ')})
      VALUES (?, ?, ${columns.map(() => '?').join(', ')})`;
    return db.prepare(sql).run(now, key, ...values).changes === 1;
  });

  return {
    insert: async ({ table, row, idempotencyKey, now }) => insert.immediate(table, row, idempotencyKey, now),
    tableRows: async (table, limit) => {
      if (!known.get(table)) return [];
      return db.prepare(`SELECT * FROM "${table}" ORDER BY row_id DESC LIMIT ?`).all(limit) as Array<Record<string, unknown>>;
    },
  };
}
