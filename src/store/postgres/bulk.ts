import { bulkDeadRunsSql, bulkEventsSql } from '../bulk-sql.ts';
import { eventSummaryColumns, toEventSummary, toRun, type EventRow, type RunRow } from '../rows.ts';
import { toOperation } from '../sqlite/bulk.ts';
import type { BulkStore, RetryResult } from '../types.ts';
import { channel, sqlState, transaction, type Db } from './db.ts';
import { qualified } from './queue.ts';

const eventColumns = eventSummaryColumns.split(', ').map((c) => `e.${c}`).join(', ');
const itemSql = `
  INSERT INTO bulk_items (kind, target, operation_id) VALUES ($1, $2, $3)
  ON CONFLICT (kind, target) DO UPDATE SET operation_id = excluded.operation_id`;

export function postgresBulk(db: Db): BulkStore {
  const { pool } = db;
  return {
    events: async (filter, limit, after) => {
      const { text, values } = bulkEventsSql('postgres', filter, limit, after, eventColumns);
      return (await pool.query<EventRow & { done_by: string | null }>(text, values)).rows.map((r) => ({ ...toEventSummary(r), doneBy: r.done_by }));
    },
    deadRuns: async (filter, limit, after) => {
      const { text, values } = bulkDeadRunsSql('postgres', filter, limit, after, qualified('r'));
      return (await pool.query<RunRow & { done_by: string | null }>(text, values)).rows.map((r) => ({ ...toRun(r), doneBy: r.done_by }));
    },
    begin: async (op) => {
      await pool.query(`INSERT INTO bulk_operations (id, kind, filter, again, created_at, matched) VALUES ($1, $2, $3, $4, $5, $6)`, [
        op.id,
        op.kind,
        JSON.stringify(op.filter),
        op.again,
        op.now,
        op.matched,
      ]);
    },
    replay: (operationId, seq) =>
      transaction(pool, async (client) => {
        const { rowCount } = await client.query(
          `UPDATE events SET status = 'received', generation = generation + 1, dispatch_error = NULL WHERE seq = $1 RETURNING pg_notify('${channel}', $2)`,
          [seq, db.wake.events],
        );
        if (rowCount !== 1) return false;
        await client.query(itemSql, ['replay', String(seq), operationId]);
        return true;
      }),
    retry: async (operationId, runId, now) => {
      try {
        return await transaction(pool, async (client): Promise<RetryResult> => {
          const { rows } = await client.query<{ status: string }>(`SELECT status FROM runs WHERE id = $1 FOR UPDATE`, [runId]);
          if (rows.length === 0) return 'not_found';
          if (rows[0]!.status !== 'dead') return 'not_dead';
          await client.query(
            `UPDATE runs SET status = 'queued', attempt = 0, available_at = $2, updated_at = $2, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 RETURNING pg_notify('${channel}', $3)`,
            [runId, now, db.wake.runs],
          );
          await client.query(itemSql, ['retry', runId, operationId]);
          return 'retried';
        });
      } catch (error) {
        if (sqlState(error) === '23505' && (error as { constraint?: string }).constraint === 'runs_live_key') return 'key_busy';
        throw error;
      }
    },
    finish: async (operationId, { done, skipped }, now) => {
      await pool.query(`UPDATE bulk_operations SET done = $1, skipped = $2, finished_at = $3 WHERE id = $4`, [done, skipped, now, operationId]);
    },
    operations: async (limit) => (await pool.query(`SELECT * FROM bulk_operations ORDER BY created_at DESC, id DESC LIMIT $1`, [limit])).rows.map(toOperation),
  };
}
