import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config/units.ts';
import { dryRunEvent, type DryRunDeps, type DryRunEvent } from '../engine/dry-run.ts';
import type { BulkEvent, BulkFilter, BulkKind, BulkOperationRecord, BulkRun, RetryResult, RunStatus, Store } from '../store/types.ts';

/**
 * Bulk replay and retry by filter, shared by the CLI (`hookline replay --since ...`, `hookline dead
 * --retry-all --since ...`), the admin API (POST /admin/replay, POST /admin/runs/retry) and the
 * console. Each operation is recorded with its filter and what it touched; what an earlier bulk
 * operation already replayed (or retried) is skipped and counted as such unless `again`.
 */

/** The most a bulk operation selects; a filter matching more is refused (narrow it, or run it in parts). */
export const bulkCap = 100_000;
/** Items listed in an answer (the counts cover all). */
const listedItems = 1_000;

export interface BulkInput {
  since?: unknown;
  until?: unknown;
  source?: unknown;
  type?: unknown;
  recipe?: unknown;
  status?: unknown;
}

const replayStatuses = ['queued', 'running', 'retrying', 'failed', 'waiting', 'done', 'dead', 'skipped', 'set_aside'];

/** An ISO time, or a duration ago (2h, 30m, 7d). */
export function parseTime(text: string, now: number): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** A filter from strings (CLI flags, query or JSON fields); the error names the field and what it accepts. */
export function parseBulkFilter(input: BulkInput, kind: BulkKind, now: number): { filter: BulkFilter } | { error: string } {
  const filter: BulkFilter = {};
  for (const key of ['since', 'until', 'source', 'type', 'recipe', 'status'] as const) {
    const value = input[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') return { error: `${key}: expected a string` };
    if (key === 'since' || key === 'until') {
      const at = parseTime(value, now);
      if (at === undefined) return { error: `${key}: "${value}" is neither an ISO time (2026-11-20T09:00:00Z) nor a duration ago (2h, 30m, 7d)` };
      filter[key] = at;
    } else if (key === 'status') {
      if (kind === 'retry') {
        if (value !== 'dead') return { error: `status: only dead runs are retried (got "${value}")` };
      } else if (!replayStatuses.includes(value)) {
        return { error: `status: expected one of ${replayStatuses.join(', ')} (a run status of the event's runs, or set_aside)` };
      } else {
        filter.status = value === 'failed' ? 'retrying' : (value as RunStatus | 'set_aside');
      }
    } else {
      filter[key] = value;
    }
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) return { error: 'since must be before until' };
  return { filter };
}

/** The filter as recorded and shown: times as ISO text. */
export function filterJson(f: BulkFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) out[k] = k === 'since' || k === 'until' ? new Date(v as number).toISOString() : v;
  return out;
}

/** Every event the filter selects (paged), oldest first; throws past bulkCap. */
export async function selectEvents(store: Store, filter: BulkFilter): Promise<BulkEvent[]> {
  const all: BulkEvent[] = [];
  for (let after: number | undefined; ; ) {
    const page = await store.bulk.events(filter, 1_000, after);
    all.push(...page);
    if (all.length > bulkCap) throw new BulkTooLargeError(`the filter selects more than ${bulkCap} events; narrow it (--since/--until) or run it in parts`);
    if (page.length < 1_000) return all;
    after = page.at(-1)!.seq;
  }
}

export async function selectDeadRuns(store: Store, filter: BulkFilter): Promise<BulkRun[]> {
  const all: BulkRun[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.bulk.deadRuns(filter, 1_000, after);
    all.push(...page);
    if (all.length > bulkCap) throw new BulkTooLargeError(`the filter selects more than ${bulkCap} dead runs; narrow it (--since/--until) or run it in parts`);
    if (page.length < 1_000) return all;
    after = page.at(-1)!.id;
  }
}

export class BulkTooLargeError extends Error {
  override name = 'BulkTooLargeError';
}

export interface BulkItem {
  /** Event id (replay) or run id (retry). */
  id: string;
  seq?: number;
  outcome: 'replayed' | 'retried' | 'already_done' | 'pending' | RetryResult | 'not_found';
  /** The earlier bulk operation that did it (already_done). */
  by?: string;
}

export interface BulkOutcome {
  /** The recorded operation; null when nothing was to be done (or a count). */
  operation: string | null;
  kind: BulkKind;
  filter: Record<string, unknown>;
  again: boolean;
  /** Selected by the filter. */
  matched: number;
  /** Replayed or retried now. */
  done: number;
  /** Already replayed (retried) by an earlier bulk operation: skipped unless again. */
  skipped_already: number;
  /** Neither: still waiting for dispatch, key busy, gone meanwhile. */
  not_done: number;
  items: BulkItem[];
  items_truncated: boolean;
}

export interface BulkOptions {
  again?: boolean | undefined;
  now: number;
  /** Called after each item: (done so far, total). */
  onProgress?: ((n: number, total: number) => void) | undefined;
}

const newOperationId = (now: number) => `b${now.toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;

/** Counts what a bulk replay would touch, doing nothing (the console's confirmation). */
export async function countReplay(store: Store, filter: BulkFilter): Promise<{ matched: number; already: number; pending: number }> {
  const events = await selectEvents(store, filter);
  return { matched: events.length, already: events.filter((e) => e.doneBy !== null).length, pending: events.filter((e) => e.status === 'received').length };
}

export async function countRetry(store: Store, filter: BulkFilter): Promise<{ matched: number; already: number }> {
  const runs = await selectDeadRuns(store, filter);
  return { matched: runs.length, already: runs.filter((r) => r.doneBy !== null).length };
}

/**
 * Sends every selected event through the recipes again (generation + 1, as `replay <id>`), each in
 * its own transaction with its record in the operation. Events still waiting for their dispatch are
 * left alone; events an earlier bulk replay did are skipped unless `again`.
 */
export async function bulkReplay(store: Store, filter: BulkFilter, options: BulkOptions): Promise<BulkOutcome> {
  const events = await selectEvents(store, filter);
  const again = options.again === true;
  const outcome = emptyOutcome('replay', filter, again, events.length);
  const todo = events.filter((e) => e.status !== 'received' && (again || e.doneBy === null));
  if (todo.length > 0) {
    outcome.operation = newOperationId(options.now);
    await store.bulk.begin({ id: outcome.operation, kind: 'replay', filter: outcome.filter, again, matched: events.length, now: options.now });
  }
  let n = 0;
  for (const e of events) {
    let item: BulkItem;
    if (!again && e.doneBy !== null) item = { id: e.eventId, seq: e.seq, outcome: 'already_done', by: e.doneBy };
    else if (e.status === 'received') item = { id: e.eventId, seq: e.seq, outcome: 'pending' };
    else item = { id: e.eventId, seq: e.seq, outcome: (await store.bulk.replay(outcome.operation!, e.seq)) ? 'replayed' : 'not_found' };
    tally(outcome, item);
    options.onProgress?.(++n, events.length);
  }
  if (outcome.operation) await store.bulk.finish(outcome.operation, { done: outcome.done, skipped: outcome.skipped_already }, options.now);
  return outcome;
}

/** Retries every selected dead run (as `dead --retry <run>`); runs an earlier bulk retry did are skipped unless `again`. */
export async function bulkRetry(store: Store, filter: BulkFilter, options: BulkOptions): Promise<BulkOutcome> {
  const runs = await selectDeadRuns(store, filter);
  const again = options.again === true;
  const outcome = emptyOutcome('retry', filter, again, runs.length);
  if (runs.some((r) => again || r.doneBy === null)) {
    outcome.operation = newOperationId(options.now);
    await store.bulk.begin({ id: outcome.operation, kind: 'retry', filter: outcome.filter, again, matched: runs.length, now: options.now });
  }
  let n = 0;
  for (const r of runs) {
    const item: BulkItem =
      !again && r.doneBy !== null ? { id: r.id, outcome: 'already_done', by: r.doneBy } : { id: r.id, outcome: await store.bulk.retry(outcome.operation!, r.id, options.now) };
    tally(outcome, item);
    options.onProgress?.(++n, runs.length);
  }
  if (outcome.operation) await store.bulk.finish(outcome.operation, { done: outcome.done, skipped: outcome.skipped_already }, options.now);
  return outcome;
}

/** The dry run of a bulk replay: per selected event, what the recipes in force would do. Nothing is written. */
export async function dryRunReplay(
  store: Store,
  filter: BulkFilter,
  deps: DryRunDeps,
  onEvent?: (result: DryRunEvent, n: number, total: number) => void,
): Promise<{ matched: number; events: DryRunEvent[]; would_start: number }> {
  const selected = await selectEvents(store, filter);
  const events: DryRunEvent[] = [];
  let wouldStart = 0;
  for (const [i, e] of selected.entries()) {
    const event = await store.read.event(e.seq);
    if (!event) continue;
    const result = await dryRunEvent(event, deps);
    wouldStart += result.recipes.length;
    events.push(result);
    onEvent?.(result, i + 1, selected.length);
  }
  return { matched: selected.length, events, would_start: wouldStart };
}

function emptyOutcome(kind: BulkKind, filter: BulkFilter, again: boolean, matched: number): BulkOutcome {
  return { operation: null, kind, filter: filterJson(filter), again, matched, done: 0, skipped_already: 0, not_done: 0, items: [], items_truncated: false };
}

function tally(outcome: BulkOutcome, item: BulkItem): void {
  if (item.outcome === 'replayed' || item.outcome === 'retried') outcome.done++;
  else if (item.outcome === 'already_done') outcome.skipped_already++;
  else outcome.not_done++;
  if (outcome.items.length < listedItems) outcome.items.push(item);
  else outcome.items_truncated = true;
}

export function operationJson(op: BulkOperationRecord) {
  return {
    id: op.id,
    kind: op.kind,
    filter: op.filter,
    again: op.again,
    created_at: new Date(op.createdAt).toISOString(),
    matched: op.matched,
    done: op.done,
    skipped_already: op.skipped,
    finished_at: op.finishedAt === null ? null : new Date(op.finishedAt).toISOString(),
  };
}
