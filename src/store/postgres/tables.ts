import type { PoolClient } from 'pg';
import { NonRetryableError } from '../../errors.ts';
import { checkTable } from '../table-names.ts';
import type { ReadModel, Row, TableRecords } from '../types.ts';
import { lockKey, sqlState, transaction, type Db } from './db.ts';

/** Column types of the `store` action's tables, chosen by the first value a column gets. */
export type ColumnType = 'double precision' | 'boolean' | 'jsonb' | 'text';

export function columnTypeOf(value: unknown): ColumnType {
  if (typeof value === 'number') return 'double precision';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'object' && value !== null) return 'jsonb';
  return 'text';
}

const quote = (identifier: string) => `"${identifier}"`;

export const createTableSql = (table: string) => `
  CREATE TABLE ${quote(table)} (
    row_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stored_at       bigint NOT NULL,
    idempotency_key text   NOT NULL UNIQUE)`;

export const addColumnSql = (table: string, column: string, type: ColumnType) =>
  `ALTER TABLE ${quote(table)} ADD COLUMN IF NOT EXISTS ${quote(column)} ${type}`;

export const insertRowSql = (table: string, columns: string[]) => `
  INSERT INTO ${quote(table)} (stored_at, idempotency_key, ${columns.map(quote).join(', ')})
  VALUES ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')})
  ON CONFLICT (idempotency_key) DO NOTHING`;

/** What bears this name in the store's schema (relkind), with its columns (name → SQL type). */
const relationSql = `
  SELECT c.relkind, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE c.oid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))`;

const kinds: Record<string, string> = { i: 'index', I: 'index', S: 'sequence', v: 'view', m: 'materialized view', c: 'type', f: 'foreign table' };

type Columns = Map<string, string>;

/** The table's columns; undefined if there is no such table; NonRetryableError if the name is another object's. */
async function readColumns(client: PoolClient, table: string): Promise<Columns | undefined> {
  const { rows } = await client.query<{ relkind: string; name: string | null; type: string | null }>(relationSql, [table]);
  const [first] = rows;
  if (!first) return undefined;
  if (first.relkind !== 'r' && first.relkind !== 'p') throw nameTaken(table, kinds[first.relkind] ?? 'object');
  return new Map(rows.filter((r) => r.name !== null).map((r) => [r.name!, r.type!]));
}

// Tables share their namespace with indexes and sequences (hookline's own, and those of other tables).
const nameTaken = (table: string, what: string) => new NonRetryableError(`store: the name "${table}" is taken by a ${what} of the database; choose another name`);

/**
 * The value as a parameter for a column of that type, or a NonRetryableError that says why it does
 * not fit: retrying cannot change a column's type.
 */
export function columnValue(table: string, column: string, type: string, value: Row[string] | undefined): unknown {
  if (value === null || value === undefined) return null;
  const refuse = () =>
    new NonRetryableError(
      `store: column "${column}" of table "${table}" holds ${type} values (set by its first value); got a ${typeof value}. ` +
        `Store this key under another name, or convert it in the recipe.`,
    );
  switch (type) {
    case 'double precision':
      if (typeof value !== 'number') throw refuse();
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw refuse();
      return value;
    case 'jsonb':
      return JSON.stringify(value);
    case 'text':
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    default:
      // A column someone else made: PostgreSQL converts, or refuses (a data exception, below).
      return typeof value === 'object' ? JSON.stringify(value) : value;
  }
}

/** The `store` action's tables: created on first use, a column added for each new key. */
export function postgresTables(db: Db): TableRecords & Pick<ReadModel, 'tableRows'> {
  const { pool } = db;
  // What this instance last saw of each table; refreshed from the catalog when a row brings a new key.
  const known = new Map<string, Columns>();

  /** Creates the table and the missing columns, under a lock so that instances do not race on the DDL. */
  const ensure = (table: string, row: Row, now: number): Promise<Columns> =>
    transaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey('table', `${db.schema}.${table}`));
      let columns = await readColumns(client, table);
      if (!columns) {
        await client.query(createTableSql(table)).catch((error: unknown) => {
          // A type of that name (42710), or a relation in the schema that to_regclass did not show (42P07).
          throw ['42P07', '42710'].includes(sqlState(error) ?? '') ? nameTaken(table, 'type or relation') : error;
        });
        columns = new Map();
      }
      const added = Object.keys(row).filter((c) => !columns.has(c));
      for (const column of added) {
        const type = columnTypeOf(row[column]);
        await client.query(addColumnSql(table, column, type));
        columns.set(column, type);
      }
      const user = [...columns.keys()].filter((c) => !['row_id', 'stored_at', 'idempotency_key'].includes(c));
      await client.query(
        `INSERT INTO store_tables (name, columns, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET columns = EXCLUDED.columns`,
        [table, JSON.stringify(user), now],
      );
      return (await readColumns(client, table))!;
    });

  const insert = async (table: string, row: Row, key: string, now: number, again = true): Promise<boolean> => {
    const names = checkTable(table, row);
    let columns = known.get(table);
    if (!columns || names.some((c) => !columns!.has(c))) {
      columns = await ensure(table, row, now);
      known.set(table, columns);
    }
    const values = names.map((c) => columnValue(table, c, columns.get(c)!, row[c]));
    try {
      return (await pool.query(insertRowSql(table, names), [now, key, ...values])).rowCount === 1;
    } catch (error) {
      const state = sqlState(error) ?? '';
      // The table changed under this instance's feet (dropped, altered): look again, once.
      if (again && (state === '42P01' || state === '42703')) {
        known.delete(table);
        return insert(table, row, key, now, false);
      }
      // Data exceptions: a value the column cannot hold (NUL in text, out of range, bad input syntax).
      if (state.startsWith('22')) {
        throw new NonRetryableError(`store: table "${table}" cannot hold this row: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  };

  return {
    insert: ({ table, row, idempotencyKey, now }) => insert(table, row, idempotencyKey, now),
    tableRows: async (table, limit) => {
      const { rows: registered } = await pool.query('SELECT 1 FROM store_tables WHERE name = $1', [table]);
      // Only names the store created (and checked) are ever put into SQL.
      if (registered.length === 0 || !/^[a-z][a-z0-9_]{0,62}$/.test(table)) return [];
      return (await pool.query(`SELECT * FROM ${quote(table)} ORDER BY row_id DESC LIMIT $1`, [limit])).rows;
    },
  };
}
