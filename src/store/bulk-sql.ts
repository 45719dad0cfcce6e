import { globToRegex } from './postgres/read-model.ts';
import type { BulkFilter } from './types.ts';

/**
 * The SQL of a bulk filter, for both backends (the same tables and columns): $1, $2 ... parameters,
 * or SQLite's plain ?. Pure functions: the stores only run what they return.
 */
type Dialect = 'sqlite' | 'postgres';

function builder(dialect: Dialect) {
  const values: unknown[] = [];
  // Each parameter is used once, in order: SQLite's plain ? suffices.
  const param = (value: unknown) => (dialect === 'sqlite' ? (values.push(value), '?') : `$${values.push(value)}`);
  const typeMatch = (column: string, type: string) =>
    /[*?[]/.test(type) ? (dialect === 'sqlite' ? `${column} GLOB ${param(type)}` : `${column} ~ ${param(globToRegex(type))}`) : `${column} = ${param(type)}`;
  return { values, param, typeMatch };
}

/** Events the filter selects, oldest first, each with the bulk replay that did it (done_by). */
export function bulkEventsSql(dialect: Dialect, f: BulkFilter, limit: number, after: number | undefined, columns: string) {
  const { values, param, typeMatch } = builder(dialect);
  const where: string[] = [];
  if (f.since !== undefined) where.push(`e.received_at >= ${param(f.since)}`);
  if (f.until !== undefined) where.push(`e.received_at < ${param(f.until)}`);
  if (f.source !== undefined) where.push(`e.source = ${param(f.source)}`);
  if (f.type !== undefined) where.push(typeMatch('e.type', f.type));
  if (f.status === 'set_aside') where.push(`e.status = 'failed'`);
  if (f.recipe !== undefined || (f.status !== undefined && f.status !== 'set_aside')) {
    const runWhere = ['r.event_seq = e.seq'];
    if (f.recipe !== undefined) runWhere.push(`r.recipe = ${param(f.recipe)}`);
    if (f.status !== undefined && f.status !== 'set_aside') runWhere.push(`r.status = ${param(f.status)}`);
    where.push(`EXISTS (SELECT 1 FROM runs r WHERE ${runWhere.join(' AND ')})`);
  }
  if (after !== undefined) where.push(`e.seq > ${param(after)}`);
  const text = `SELECT ${columns}, b.operation_id AS done_by FROM events e
    LEFT JOIN bulk_items b ON b.kind = 'replay' AND b.target = ${dialect === 'sqlite' ? 'CAST(e.seq AS TEXT)' : 'e.seq::text'}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.seq LIMIT ${param(limit)}`;
  return { text, values };
}

/** Dead runs the filter selects (since/until: when they went dead), oldest first, with the bulk retry that did each. */
export function bulkDeadRunsSql(dialect: Dialect, f: BulkFilter, limit: number, after: string | undefined, columns: string) {
  const { values, param, typeMatch } = builder(dialect);
  const where: string[] = [`r.status = 'dead'`];
  if (f.since !== undefined) where.push(`r.updated_at >= ${param(f.since)}`);
  if (f.until !== undefined) where.push(`r.updated_at < ${param(f.until)}`);
  if (f.recipe !== undefined) where.push(`r.recipe = ${param(f.recipe)}`);
  if (f.source !== undefined) where.push(`e.source = ${param(f.source)}`);
  if (f.type !== undefined) where.push(typeMatch('e.type', f.type));
  if (after !== undefined) where.push(`r.id > ${param(after)}`);
  const text = `SELECT ${columns}, b.operation_id AS done_by FROM runs r JOIN events e ON e.seq = r.event_seq
    LEFT JOIN bulk_items b ON b.kind = 'retry' AND b.target = r.id
    WHERE ${where.join(' AND ')} ORDER BY r.id LIMIT ${param(limit)}`;
  return { text, values };
}
