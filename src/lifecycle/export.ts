import { createWriteStream } from 'node:fs';
import { access, link, unlink } from 'node:fs/promises';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { summariesTable } from '../admin/operations.ts';
import { parseDuration } from '../config/units.ts';
import type { ExportKind, Store } from '../store/types.ts';
import { InputError } from './errors.ts';

export const exportFormats = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** events | runs | tickets | summaries | table:<name> (a `store` action table). */
export function parseKind(text: string): ExportKind {
  if (text === 'events' || text === 'runs' || text === 'tickets') return text;
  if (text === 'summaries') return { table: summariesTable };
  const m = /^table:([a-z][a-z0-9_]{0,62})$/.exec(text);
  if (m) return { table: m[1]! };
  throw new InputError(`cannot export "${text}": expected events, runs, tickets, summaries or table:<name> (a table of the store action)`);
}

/**
 * A point in time for --since/--until: an ISO 8601 date or date-time ("2026-11-01",
 * "2026-11-01T12:00:00Z"), or a duration back from now ("7d", "12h").
 */
export function parseTime(text: string, now: number, flag = '--since'): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isFinite(t)) return t;
  }
  throw new InputError(`${flag} "${text}": expected a date (2026-11-01), a date-time (2026-11-01T12:00:00Z) or a duration back from now (7d, 12h)`);
}

/** Columns that hold epoch milliseconds in hookline's tables: exported as ISO 8601 (UTC). */
const timeColumns = new Set(['received_at', 'created_at', 'updated_at', 'stored_at']);

export interface ExportOptions {
  kind: ExportKind;
  since?: number | undefined;
  until?: number | undefined;
  format: ExportFormat;
  /** Rows per keyset page. */
  pageSize?: number;
}

/** The columns of the kind, or an InputError naming the tables there are. */
export async function columnsOf(store: Store, kind: ExportKind): Promise<string[]> {
  const columns = await store.exports.columns(kind);
  if (columns) return columns;
  const tables = await store.exports.tables();
  const name = typeof kind === 'object' ? kind.table : kind;
  throw new InputError(`no table "${name}" in the store${tables.length ? ` (tables of the store action: ${tables.join(', ')})` : ' (the store action has not created any table yet)'}`);
}

/** Rows of the kind in key order, page after page; only one page is in memory at a time. */
export async function* exportRows(store: Store, options: Omit<ExportOptions, 'format'>): AsyncGenerator<Record<string, unknown>> {
  const limit = options.pageSize ?? 2000;
  let after: string | number | undefined;
  do {
    const page = await store.exports.page({ kind: options.kind, since: options.since, until: options.until, after, limit });
    for (const row of page.rows) {
      for (const column of timeColumns) if (typeof row[column] === 'number') row[column] = new Date(row[column] as number).toISOString();
      yield row;
    }
    after = page.next;
  } while (after !== undefined);
}

/** JSON Lines: one object per row; an event's body is nested as the JSON it is. */
function jsonLines(kind: ExportKind): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(row: Record<string, unknown>, _encoding, done) {
      if (kind === 'events' && typeof row.body === 'string') {
        try {
          row.body = JSON.parse(row.body);
        } catch {
          // kept as the text it is
        }
      }
      done(null, `${JSON.stringify(row)}\n`);
    },
  });
}

/** CSV (RFC 4180) with a header row; objects as JSON text, booleans as true/false, null as empty. */
function csv(columns: string[]): Transform {
  return stringify({
    header: true,
    columns,
    cast: { boolean: (v) => (v ? 'true' : 'false'), object: (v) => JSON.stringify(v), date: (v) => v.toISOString() },
  });
}

/**
 * Streams the export into `out`, with backpressure: a slow disk or pipe slows the reading of pages
 * instead of piling rows up in memory. Returns the number of rows written.
 */
export async function writeExport(store: Store, options: ExportOptions, out: Writable, end = true): Promise<number> {
  const columns = await columnsOf(store, options.kind);
  let rows = 0;
  const counted = async function* () {
    for await (const row of exportRows(store, options)) {
      rows++;
      yield row;
    }
  };
  await pipeline(Readable.from(counted()), options.format === 'csv' ? csv(columns) : jsonLines(options.kind), out, { end });
  return rows;
}

/**
 * Into a file that must not exist: written beside it and linked into place at the end (link fails
 * if the name was taken meanwhile), so that a failed export leaves no half file and none is replaced.
 */
export async function exportToFile(store: Store, options: ExportOptions, file: string): Promise<number> {
  const taken = () => new InputError(`${file} exists; choose another file (an export never replaces one)`);
  if (await access(file).then(() => true, () => false)) throw taken();
  const temporary = `${file}.${process.pid}.partial`;
  try {
    const rows = await writeExport(store, options, createWriteStream(temporary, { flags: 'wx', mode: 0o640 }));
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EEXIST' ? taken() : error;
    });
    return rows;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
