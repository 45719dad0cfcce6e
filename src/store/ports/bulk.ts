import type { EventSummary } from './inbox.ts';
import type { RunRecord, RunStatus } from './queue.ts';
import type { RetryResult } from './read-model.ts';

/**
 * Bulk replay and retry by filter: the events or dead runs a filter selects, and each bulk operation
 * recorded with its filter and what it touched, so that replaying the same events twice by mistake
 * is visible (the second operation skips them unless asked `again`).
 */

export interface BulkFilter {
  /** Inclusive lower bound, ms (replay: received; retry: when the run went dead). */
  since?: number | undefined;
  /** Exclusive upper bound, ms. */
  until?: number | undefined;
  source?: string | undefined;
  /** Exact type or a glob (conversation.*). */
  type?: string | undefined;
  /** Replay: events with a run of this recipe; retry: runs of this recipe. */
  recipe?: string | undefined;
  /**
   * Replay: events with a run in this status (of `recipe`, when given), or `set_aside` for events
   * whose dispatch failed. Retry: dead only.
   */
  status?: RunStatus | 'set_aside' | undefined;
}

export type BulkKind = 'replay' | 'retry';

export interface BulkOperationRecord {
  id: string;
  kind: BulkKind;
  filter: Record<string, unknown>;
  again: boolean;
  createdAt: number;
  matched: number;
  done: number;
  skipped: number;
  finishedAt: number | null;
}

/** A selected event, with the earlier bulk operation that replayed it, if one did. */
export type BulkEvent = EventSummary & { doneBy: string | null };
export type BulkRun = RunRecord & { doneBy: string | null };

export interface BulkStore {
  /** Events the filter selects, oldest first, after seq `after` (paging), at most `limit`. */
  events(filter: BulkFilter, limit: number, after?: number): Promise<BulkEvent[]>;
  /** Dead runs the filter selects, oldest first, after id `after`, at most `limit`. */
  deadRuns(filter: BulkFilter, limit: number, after?: string): Promise<BulkRun[]>;
  begin(op: { id: string; kind: BulkKind; filter: Record<string, unknown>; again: boolean; matched: number; now: number }): Promise<void>;
  /** In one transaction: the event goes through the recipes again (generation + 1) and is recorded as this operation's. */
  replay(operationId: string, seq: number): Promise<boolean>;
  /** In one transaction: the dead run back to the queue and recorded as this operation's. */
  retry(operationId: string, runId: string, now: number): Promise<RetryResult>;
  finish(operationId: string, counts: { done: number; skipped: number }, now: number): Promise<void>;
  operations(limit: number): Promise<BulkOperationRecord[]>;
}
