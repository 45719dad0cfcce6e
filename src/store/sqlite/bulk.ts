import type Database from 'better-sqlite3';
import { bulkDeadRunsSql, bulkEventsSql } from '../bulk-sql.ts';
import { eventSummaryColumns, toEventSummary, toRun, type EventRow, type RunRow } from '../rows.ts';
import type { BulkOperationRecord, BulkStore, RetryResult } from '../types.ts';
import type { Writer } from './writer.ts';

interface OperationRow {
  id: string;
  kind: BulkOperationRecord['kind'];
  filter: string;
  again: number;
  created_at: number;
  matched: number;
  done: number;
  skipped: number;
  finished_at: number | null;
}

export const toOperation = (r: OperationRow | (Omit<OperationRow, 'again'> & { again: boolean })): BulkOperationRecord => ({
  id: r.id,
  kind: r.kind,
  filter: JSON.parse(r.filter),
  again: r.again === true || r.again === 1,
  createdAt: Number(r.created_at),
  matched: r.matched,
  done: r.done,
  skipped: r.skipped,
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

const eventColumns = eventSummaryColumns.split(', ').map((c) => `e.${c}`).join(', ');

export function sqliteBulk(db: Database.Database, writer: Writer): BulkStore {
  const begin = db.prepare(`INSERT INTO bulk_operations (id, kind, filter, again, created_at, matched) VALUES (?, ?, ?, ?, ?, ?)`);
  const item = db.prepare(`
    INSERT INTO bulk_items (kind, target, operation_id) VALUES (?, ?, ?)
    ON CONFLICT (kind, target) DO UPDATE SET operation_id = excluded.operation_id`);
  const replayEvent = db.prepare(`UPDATE events SET status = 'received', generation = generation + 1, dispatch_error = NULL WHERE seq = ?`);
  const getRun = db.prepare(`SELECT status FROM runs WHERE id = ?`).pluck();
  const retryRun = db.prepare(`
    UPDATE runs SET status = 'queued', attempt = 0, available_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
    WHERE id = @id AND status = 'dead'`);
  const finish = db.prepare(`UPDATE bulk_operations SET done = ?, skipped = ?, finished_at = ? WHERE id = ?`);
  const list = db.prepare(`SELECT * FROM bulk_operations ORDER BY created_at DESC, rowid DESC LIMIT ?`);

  const replay = db.transaction((operationId: string, seq: number) => {
    if (replayEvent.run(seq).changes !== 1) return false;
    item.run('replay', String(seq), operationId);
    return true;
  });
  const retry = db.transaction((operationId: string, id: string, now: number): RetryResult => {
    const status = getRun.get(id) as string | undefined;
    if (status === undefined) return 'not_found';
    if (status !== 'dead') return 'not_dead';
    if (retryRun.run({ id, now }).changes !== 1) return 'not_dead';
    item.run('retry', id, operationId);
    return 'retried';
  });

  return {
    events: async (filter, limit, after) => {
      const { text, values } = bulkEventsSql('sqlite', filter, limit, after, eventColumns);
      return (db.prepare(text).all(...(values as never[])) as Array<EventRow & { done_by: string | null }>).map((r) => ({ ...toEventSummary(r), doneBy: r.done_by }));
    },
    deadRuns: async (filter, limit, after) => {
      const { text, values } = bulkDeadRunsSql('sqlite', filter, limit, after, 'r.*');
      return (db.prepare(text).all(...(values as never[])) as Array<RunRow & { done_by: string | null }>).map((r) => ({ ...toRun(r), doneBy: r.done_by }));
    },
    begin: (op) => writer.write(() => void begin.run(op.id, op.kind, JSON.stringify(op.filter), op.again ? 1 : 0, op.now, op.matched)),
    replay: (operationId, seq) => writer.write(() => replay(operationId, seq)),
    retry: (operationId, runId, now) =>
      writer.write(() => {
        try {
          return retry(operationId, runId, now);
        } catch (error) {
          // The partial unique index on live (recipe, key): another live run holds the key.
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'key_busy' as const;
          throw error;
        }
      }),
    finish: (operationId, { done, skipped }, now) => writer.write(() => void finish.run(done, skipped, now, operationId)),
    operations: async (limit) => (list.all(limit) as OperationRow[]).map(toOperation),
  };
}
