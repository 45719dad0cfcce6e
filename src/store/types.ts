/**
 * The storage port, split by who uses it (ports/): the receiver's inbox, the router's dispatch, the
 * worker's and engine's run queue, waits and timers, the operators' read model and operations, and
 * hookline's own records. `sqlite/` and `postgres/` implement every port with the same file names,
 * and one conformance suite (test/store) runs against both. Times are milliseconds since the epoch,
 * always passed in by the caller (the injected clock), never read by the store itself.
 */
import type { DispatchStore } from './ports/dispatch.ts';
import type { FlowStore } from './ports/flow.ts';
import type { Inbox } from './ports/inbox.ts';
import type { Lifecycle } from './ports/lifecycle.ts';
import type { RunQueue } from './ports/queue.ts';
import type { Operations, ReadModel } from './ports/read-model.ts';
import type { Records } from './ports/records.ts';
import type { WaitStore } from './ports/waits.ts';
import type { BackupStore } from './ports/backup.ts';
import type { ErasureStore } from './ports/erasure.ts';
import type { ExportStore } from './ports/exports.ts';
import type { BulkStore } from './ports/bulk.ts';
import type { RecipeVersionStore } from './ports/recipe-versions.ts';
import type { ScheduleStore } from './ports/schedules.ts';

export * from './ports/dispatch.ts';
export * from './ports/flow.ts';
export * from './ports/inbox.ts';
export * from './ports/lifecycle.ts';
export * from './ports/queue.ts';
export * from './ports/read-model.ts';
export * from './ports/records.ts';
export * from './ports/waits.ts';
export * from './ports/backup.ts';
export * from './ports/erasure.ts';
export * from './ports/exports.ts';
export * from './ports/bulk.ts';
export * from './ports/recipe-versions.ts';
export * from './ports/schedules.ts';

/** What another instance may have changed: new events to dispatch, or runs that became due. */
export type Wake = 'events' | 'runs';

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** The receiver's: store events, deduplicated. */
  readonly inbox: Inbox;
  /** The router's: take stored events in order, apply what each causes. */
  readonly dispatch: DispatchStore;
  /** The worker's and the engine's: claim runs with a lease, record their steps and their end. */
  readonly queue: RunQueue;
  /** wait_for: the waits an event may answer, the look-back, the timers. */
  readonly waits: WaitStore;
  /** The operators': lists, details, counts. */
  readonly read: ReadModel;
  /** The operators': replay events, retry dead runs. */
  readonly operations: Operations;
  /** Flow control: rate slots and circuits per connection, paused recipes. */
  readonly flow: FlowStore;
  /** hookline's own records: transcripts, tickets, tables. */
  readonly records: Records;
  /** `hookline forget` / POST /admin/forget: erase one person's data, with an audit entry. */
  readonly erasure: ErasureStore;
  /** `hookline export`: rows in keyset pages. */
  readonly exports: ExportStore;
  /** `hookline backup`: an online copy; only SQLite has one (PostgreSQL: pg_dump). */
  readonly backup?: BackupStore;
  /** Data lifecycle: the pruner's batches, attachment references, stats. */
  readonly lifecycle: Lifecycle;
  /** Recipe versions runs started with (issue 14). */
  readonly versions: RecipeVersionStore;
  /** Bulk replay and retry by filter, each operation recorded (issue 14). */
  readonly bulk: BulkStore;
  /** Schedule ticks, fired once across instances (issue 14). */
  readonly schedules: ScheduleStore;
  /**
   * Calls `listener` when another instance stored events or made runs due (Postgres LISTEN/NOTIFY),
   * so idle workers wake at once instead of at their next poll. SQLite, owned by one process, never
   * calls it. Returns the unsubscribe function.
   */
  subscribe(listener: (what: Wake) => void): () => void;
  /** Resolves when the store can be written: it updates a one-row table (SELECT 1 succeeds on a full or read-only store). */
  ping(): Promise<void>;
  /**
   * What /readyz reports of the store besides "it answers": where it is and its connections
   * (never a password). Optional: a backend may have nothing to add.
   */
  describe?(): Record<string, unknown>;
  close(): Promise<void>;
}
