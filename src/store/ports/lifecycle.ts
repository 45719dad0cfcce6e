/**
 * Data lifecycle (PRODUCT §10): the background pruner's batches, what an attachment file is still
 * referenced by, the record of the last prune, and the sizes `hookline stats` and /metrics report.
 */

/** Epoch ms before which each kind may go; undefined: kept forever. */
export interface PruneCutoffs {
  events?: number | undefined;
  transcripts?: number | undefined;
  tickets?: number | undefined;
  summaries?: number | undefined;
}

/** Rows deleted, by kind. */
export interface PruneCounts {
  events: number;
  runs: number;
  steps: number;
  attempts: number;
  waits: number;
  transcripts: number;
  tickets: number;
  ticket_messages: number;
  attachments: number;
  summaries: number;
  /** Expired dedup records (seen event ids past their TTL): purged by the pruner through the inbox. */
  dedup: number;
}

export const pruneKinds = ['events', 'runs', 'steps', 'attempts', 'waits', 'transcripts', 'tickets', 'ticket_messages', 'attachments', 'summaries', 'dedup'] as const satisfies ReadonlyArray<keyof PruneCounts>;

export function noCounts(): PruneCounts {
  return { events: 0, runs: 0, steps: 0, attempts: 0, waits: 0, transcripts: 0, tickets: 0, ticket_messages: 0, attachments: 0, summaries: 0, dedup: 0 };
}

/** One batch's outcome: rows deleted, and whether a kind had more than the batch took. */
export interface PruneBatch {
  counts: PruneCounts;
  /** Some kind filled the batch: call again. */
  more: boolean;
}

/** The last finished prune pass (what `stats` shows). */
export interface PruneRecord {
  finishedAt: number;
  tookMs: number;
  /** Rows deleted by kind, and attachment files deleted (`files`). */
  counts: PruneCounts & { files: number };
}

/** One kind's figures: rows, and bytes where the backend can tell (table and its indexes). */
export interface KindStats {
  rows: number;
  bytes: number | null;
}

export interface StoreStats {
  backend: 'sqlite' | 'postgres';
  /** Rows and bytes per table: hookline's own and the `store` action's. */
  tables: Record<string, KindStats>;
  database: {
    /** SQLite: page_count × page_size (+ the WAL); PostgreSQL: pg_database_size. */
    bytes: number;
    /** SQLite: bytes on the freelist (reused before the file grows). */
    freeBytes: number | null;
    /** SQLite: none, full or incremental. */
    autoVacuum?: string | undefined;
    walBytes?: number | undefined;
  };
  /** received_at of the oldest kept event. */
  oldestEventAt: number | null;
  lastPrune: PruneRecord | null;
}

export interface Lifecycle {
  /**
   * Deletes up to `limit` of each kind older than its cutoff, in one short transaction: events (with
   * their runs, steps, attempts and waits) received before the cutoff, in seq order, but never an
   * event not yet dispatched nor any event from the oldest one a live run (queued, running,
   * retrying, waiting) belongs to onwards (a run's wait_for looks back over the events after its
   * own); transcript messages, tickets (by last activity, with their messages and attachment
   * records) and summary rows. PostgreSQL: one instance at a time (an advisory lock per batch);
   * 'busy' when another holds it.
   */
  pruneBatch(cutoffs: PruneCutoffs, now: number, limit: number): Promise<PruneBatch | 'busy'>;
  /** Which of these SHA-256s a kept ticket's attachment record or a kept event's body references. */
  referencedAttachments(sha256s: string[]): Promise<Set<string>>;
  recordPrune(record: PruneRecord): Promise<void>;
  /**
   * SQLite with auto_vacuum=incremental: returns up to `maxPages` free pages to the file system, keeping
   * an eighth of the file free for reuse; the pages returned. Otherwise (and on PostgreSQL) 0.
   */
  reclaim(maxPages: number): Promise<number>;
  stats(): Promise<StoreStats>;
}

/** A stored prune_log row as a PruneRecord. */
export function toPruneRecord(row: { finished_at: number; took_ms: number; counts: string } | undefined): PruneRecord | null {
  return row ? { finishedAt: Number(row.finished_at), tookMs: Number(row.took_ms), counts: JSON.parse(row.counts) } : null;
}
