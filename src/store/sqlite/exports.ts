import type Database from 'better-sqlite3';
import { exportColumns, tableExportColumns } from '../export-columns.ts';
import type { ExportKind, ExportStore } from '../types.ts';

const window = (column: string) => `(@since IS NULL OR ${column} >= @since) AND (@until IS NULL OR ${column} < @until)`;

/** Keyset pages: each page is a short read, so a long export pins no snapshot and no WAL. */
export function sqliteExports(db: Database.Database): ExportStore {
  const pages = {
    events: db.prepare(`
      SELECT seq, source, event_id, type, received_at, test, status, body FROM events
      WHERE seq > @after AND ${window('received_at')} ORDER BY seq LIMIT @limit`),
    runs: db.prepare(`
      SELECT r.id, r.event_seq, e.event_id, e.source, r.recipe, r.status, r.attempt, r.error, r.created_at, r.updated_at
      FROM runs r JOIN events e ON e.seq = r.event_seq
      WHERE r.id > @after AND ${window('r.created_at')} ORDER BY r.id LIMIT @limit`),
    tickets: db.prepare(`
      SELECT t.id, c.email AS customer_email, c.name AS customer_name, t.subject, t.status, t.message_count, t.created_at, t.updated_at
      FROM tickets t JOIN customers c ON c.id = t.customer_id
      WHERE t.id > @after AND ${window('t.created_at')} ORDER BY t.id LIMIT @limit`),
  };
  const registered = db.prepare(`SELECT s.columns FROM store_tables s JOIN sqlite_master m ON m.name = s.name AND m.type = 'table' WHERE s.name = ?`).pluck();
  const tables = db.prepare(`SELECT s.name FROM store_tables s JOIN sqlite_master m ON m.name = s.name AND m.type = 'table' ORDER BY s.name`).pluck();

  const columnsOf = (kind: ExportKind): string[] | undefined => {
    if (typeof kind === 'string') return [...exportColumns[kind]];
    const columns = registered.get(kind.table) as string | undefined;
    return columns === undefined ? undefined : [...tableExportColumns, ...(JSON.parse(columns) as string[])];
  };

  return {
    columns: async (kind) => columnsOf(kind),
    tables: async () => tables.all() as string[],
    page: async ({ kind, since, until, after, limit }) => {
      const params = { since: since ?? null, until: until ?? null, limit, after: after ?? (kind === 'runs' ? '' : 0) };
      if (typeof kind === 'string') {
        const rows = pages[kind].all(params) as Array<Record<string, unknown>>;
        if (kind === 'events') for (const row of rows) row.test = row.test === 1;
        const last = rows.at(-1);
        return { rows, next: rows.length < limit || !last ? undefined : (last[kind === 'events' ? 'seq' : 'id'] as string | number) };
      }
      const columns = columnsOf(kind);
      if (!columns) return { rows: [], next: undefined };
      // Only names the store created (and checked, table-names.ts) are put into SQL.
      const select = columns.filter((c) => /^[a-z][a-z0-9_]{0,62}$/.test(c)).map((c) => `"${c}"`).join(', ');
      const rows = db.prepare(`SELECT ${select} FROM "${kind.table}" WHERE row_id > @after AND ${window('stored_at')} ORDER BY row_id LIMIT @limit`).all(params) as Array<Record<string, unknown>>;
      const last = rows.at(-1);
      return { rows, next: rows.length < limit || !last ? undefined : (last.row_id as number) };
    },
  };
}
