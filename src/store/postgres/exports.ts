import { exportColumns, tableExportColumns } from '../export-columns.ts';
import type { ExportKind, ExportStore } from '../types.ts';
import type { Db } from './db.ts';

const window = (column: string) => `($2::bigint IS NULL OR ${column} >= $2) AND ($3::bigint IS NULL OR ${column} < $3)`;

const pages = {
  events: `
    SELECT seq, source, event_id, type, received_at, test, status, body FROM events
    WHERE seq > $1 AND ${window('received_at')} ORDER BY seq LIMIT $4`,
  runs: `
    SELECT r.id, r.event_seq, e.event_id, e.source, r.recipe, r.status, r.attempt, r.error, r.created_at, r.updated_at
    FROM runs r JOIN events e ON e.seq = r.event_seq
    WHERE r.id > $1 AND ${window('r.created_at')} ORDER BY r.id LIMIT $4`,
  tickets: `
    SELECT t.id, c.email AS customer_email, c.name AS customer_name, t.subject, t.status, t.message_count, t.created_at, t.updated_at
    FROM tickets t JOIN customers c ON c.id = t.customer_id
    WHERE t.id > $1 AND ${window('t.created_at')} ORDER BY t.id LIMIT $4`,
};

/** Keyset pages: each page a short statement (within statement_timeout), no cursor held open. */
export function postgresExports(db: Db): ExportStore {
  const { pool } = db;
  const exists = `to_regclass(quote_ident(current_schema()) || '.' || quote_ident(s.name)) IS NOT NULL`;
  const columnsOf = async (kind: ExportKind): Promise<string[] | undefined> => {
    if (typeof kind === 'string') return [...exportColumns[kind]];
    const { rows } = await pool.query<{ columns: string }>(`SELECT s.columns FROM store_tables s WHERE s.name = $1 AND ${exists}`, [kind.table]);
    return rows[0] ? [...tableExportColumns, ...(JSON.parse(rows[0].columns) as string[])] : undefined;
  };
  return {
    columns: columnsOf,
    tables: async () => (await pool.query<{ name: string }>(`SELECT s.name FROM store_tables s WHERE ${exists} ORDER BY s.name`)).rows.map((r) => r.name),
    page: async ({ kind, since, until, after, limit }) => {
      const params = [after ?? (kind === 'runs' ? '' : 0), since ?? null, until ?? null, limit];
      if (typeof kind === 'string') {
        const { rows } = await pool.query(pages[kind], params);
        const last = rows.at(-1);
        return { rows, next: rows.length < limit || !last ? undefined : last[kind === 'events' ? 'seq' : 'id'] };
      }
      const columns = await columnsOf(kind);
      if (!columns || !/^[a-z][a-z0-9_]{0,62}$/.test(kind.table)) return { rows: [], next: undefined };
      const select = columns.filter((c) => /^[a-z][a-z0-9_]{0,62}$/.test(c)).map((c) => `"${c}"`).join(', ');
      const { rows } = await pool.query(`SELECT ${select} FROM "${kind.table}" WHERE row_id > $1 AND ${window('stored_at')} ORDER BY row_id LIMIT $4`, params);
      const last = rows.at(-1);
      return { rows, next: rows.length < limit || !last ? undefined : last.row_id };
    },
  };
}
