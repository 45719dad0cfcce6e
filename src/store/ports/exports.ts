/**
 * `hookline export`: rows for the analytics warehouse, read in keyset pages (each page a short
 * query: no long-held cursor, no read transaction pinning the SQLite WAL), so that memory stays
 * constant whatever the number of rows.
 */

export type ExportKind = 'events' | 'runs' | 'tickets' | { table: string };

export interface ExportPage {
  kind: ExportKind;
  /** Inclusive lower bound of the row's time (received_at, created_at, stored_at), epoch ms. */
  since?: number | undefined;
  /** Exclusive upper bound. */
  until?: number | undefined;
  /** The cursor returned with the previous page; undefined for the first. */
  after?: string | number | undefined;
  limit: number;
}

export interface ExportStore {
  /** Columns of the kind, in output order; undefined for a table the store does not have. */
  columns(kind: ExportKind): Promise<string[] | undefined>;
  /** One page of rows in key order, and the cursor of the next (undefined: no more). */
  page(page: ExportPage): Promise<{ rows: Array<Record<string, unknown>>; next: string | number | undefined }>;
  /** The `store` action's tables. */
  tables(): Promise<string[]>;
}
