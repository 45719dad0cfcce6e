import { noCounts, toPruneRecord, type KindStats, type Lifecycle, type PruneBatch, type PruneCounts, type PruneCutoffs } from '../ports/lifecycle.ts';
import { checkin, checkout, lockKey, transaction, type Db } from './db.ts';

const summariesTable = 'conversation_summaries';
const liveStatuses = `('queued', 'running', 'retrying', 'waiting')`;
const finalStatuses = `('done', 'dead', 'skipped')`;

/**
 * PostgreSQL: each batch is one transaction that first takes a transaction-scoped advisory lock, so
 * that of several instances sharing the store one prunes at a time and no row is deleted twice; the
 * others find it taken and skip their pass. Rows are locked (FOR UPDATE) before they are deleted: a
 * replay or a retry committed meanwhile keeps its event and runs.
 */
export function postgresLifecycle(db: Db): Lifecycle {
  const { pool, schema } = db;
  /** Tables this instance deleted rows from since its last reclaim. */
  const pruned = new Set<string>();
  const note = (table: string, rows: number) => {
    if (rows > 0) pruned.add(table);
    return rows;
  };

  async function prune(cutoffs: PruneCutoffs, now: number, limit: number): Promise<PruneBatch | 'busy'> {
    return transaction(
      pool,
      async (client) => {
        const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', lockKey('prune', schema));
        if (!locked[0]?.ok) return 'busy' as const;
        const counts: PruneCounts = noCounts();
        let more = false;
        if (cutoffs.events !== undefined) {
          const { rows } = await client.query<{ seq: number; received_at: number }>(
            `SELECT seq, received_at FROM events
             WHERE status <> 'received' AND seq < coalesce(least(
               (SELECT min(seq) FROM events WHERE status = 'received'),
               (SELECT min(event_seq) FROM runs WHERE status IN ${liveStatuses})), 9223372036854775807)
             ORDER BY seq LIMIT $1 FOR UPDATE`,
            [limit],
          );
          const seqs: number[] = [];
          for (const row of rows) {
            if (row.received_at >= cutoffs.events) break;
            seqs.push(row.seq);
          }
          if (seqs.length > 0) {
            const { rows: runs } = await client.query<{ id: string }>(`SELECT id FROM runs WHERE event_seq = ANY($1) AND status IN ${finalStatuses} FOR UPDATE`, [seqs]);
            const ids = runs.map((r) => r.id);
            if (ids.length > 0) {
              counts.attempts = note('attempts', (await client.query('DELETE FROM attempts WHERE run_id = ANY($1)', [ids])).rowCount ?? 0);
              counts.steps = note('steps', (await client.query('DELETE FROM steps WHERE run_id = ANY($1)', [ids])).rowCount ?? 0);
              counts.waits = note('waits', (await client.query('DELETE FROM waits WHERE run_id = ANY($1)', [ids])).rowCount ?? 0);
              await client.query(`DELETE FROM bulk_items WHERE kind = 'retry' AND target = ANY($1)`, [ids]);
              counts.runs = note('runs', (await client.query('DELETE FROM runs WHERE id = ANY($1)', [ids])).rowCount ?? 0);
            }
            // An event that got a live run meanwhile (a retry committed first) stays.
            const { rows: gone } = await client.query<{ seq: string }>('DELETE FROM events e WHERE seq = ANY($1) AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.event_seq = e.seq) RETURNING seq', [seqs]);
            counts.events = note('events', gone.length);
            // What bulk replays did to them goes with them.
            if (gone.length > 0) await client.query(`DELETE FROM bulk_items WHERE kind = 'replay' AND target = ANY($1)`, [gone.map((r) => String(r.seq))]);
            more ||= seqs.length === limit;
          }
        }
        if (cutoffs.transcripts !== undefined) {
          const every = Math.min(3_600_000, Math.max(1_000, Math.floor((now - cutoffs.transcripts) / 100)));
          await client.query(
            `INSERT INTO seq_marks (at, seq) SELECT $1::bigint, coalesce((SELECT max(seq) FROM events), 0)
             WHERE coalesce((SELECT max(at) FROM seq_marks), 0) <= $1::bigint - $2::bigint ON CONFLICT DO NOTHING`,
            [now, every],
          );
          const { rows: marks } = await client.query<{ at: number; seq: number }>('SELECT at, seq FROM seq_marks WHERE at <= $1 ORDER BY at DESC LIMIT 1', [cutoffs.transcripts]);
          const mark = marks[0];
          if (mark) {
            counts.transcripts =
              (
                await client.query(
                  `DELETE FROM transcript_messages t USING (SELECT conversation_id, message_id FROM transcript_messages WHERE event_seq <= $1 ORDER BY event_seq LIMIT $2) d
                   WHERE t.conversation_id = d.conversation_id AND t.message_id = d.message_id`,
                  [mark.seq, limit],
                )
              ).rowCount ?? 0;
            note('transcript_messages', counts.transcripts);
            more ||= counts.transcripts === limit;
            await client.query('DELETE FROM seq_marks WHERE at < $1', [mark.at]);
          }
        }
        if (cutoffs.tickets !== undefined) {
          const { rows } = await client.query<{ id: number }>('SELECT id FROM tickets WHERE updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE', [cutoffs.tickets, limit]);
          const ids = rows.map((r) => r.id);
          if (ids.length > 0) {
            const messages = 'SELECT id FROM ticket_messages WHERE ticket_id = ANY($1)';
            counts.attachments = (await client.query(`DELETE FROM attachments WHERE ticket_message_id IN (${messages})`, [ids])).rowCount ?? 0;
            await client.query(`DELETE FROM ticket_message_refs WHERE ticket_message_id IN (${messages})`, [ids]);
            counts.ticket_messages = note('ticket_messages', (await client.query('DELETE FROM ticket_messages WHERE ticket_id = ANY($1)', [ids])).rowCount ?? 0);
            await client.query('DELETE FROM ticket_participants WHERE ticket_id = ANY($1)', [ids]);
            counts.tickets = note('tickets', (await client.query('DELETE FROM tickets WHERE id = ANY($1)', [ids])).rowCount ?? 0);
            more ||= ids.length === limit;
          }
        }
        if (cutoffs.summaries !== undefined) {
          const { rows: exists } = await client.query('SELECT 1 FROM store_tables WHERE name = $1', [summariesTable]);
          if (exists.length > 0) {
            const { rows } = await client.query<{ row_id: number; stored_at: number }>(`SELECT row_id, stored_at FROM "${summariesTable}" ORDER BY row_id LIMIT $1`, [limit]);
            let last: number | undefined;
            for (const row of rows) {
              if (Number(row.stored_at) >= cutoffs.summaries) break;
              last = Number(row.row_id);
            }
            if (last !== undefined) {
              counts.summaries = note(summariesTable, (await client.query(`DELETE FROM "${summariesTable}" WHERE row_id <= $1`, [last])).rowCount ?? 0);
              more ||= counts.summaries === limit;
            }
          }
        }
        return { counts, more };
      },
      // Lost only in a crash of PostgreSQL itself: the rows come back and the next pass prunes them again.
      { flushWait: false },
    );
  }

  return {
    pruneBatch: prune,
    referencedAttachments: async (sha256s) => {
      if (sha256s.length === 0) return new Set();
      // One pass over the events that carry attachments (not one per file), without the statement
      // timeout: on a large store it may take longer, and it blocks nobody.
      return transaction(pool, async (client) => {
        await client.query('SET LOCAL statement_timeout = 0');
        const { rows } = await client.query<{ sha: string }>(
          `SELECT sha256 AS sha FROM attachments WHERE sha256 = ANY($1)
           UNION
           SELECT s FROM events e CROSS JOIN unnest($1::text[]) s WHERE strpos(e.body, '"sha256"') > 0 AND strpos(e.body, s) > 0`,
          [sha256s],
        );
        return new Set(rows.map((r) => r.sha));
      });
    },
    recordPrune: async (record) => {
      await pool.query(
        `INSERT INTO prune_log (id, finished_at, took_ms, counts) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, took_ms = excluded.took_ms, counts = excluded.counts`,
        [record.finishedAt, record.tookMs, JSON.stringify(record.counts)],
      );
    },
    // PostgreSQL reuses the space of deleted rows once VACUUM has marked it free. autovacuum does that;
    // where it is turned off, the tables pruned are vacuumed here (plain VACUUM: it takes no lock that
    // blocks reads or writes, and reuses the space rather than returning it).
    reclaim: async () => {
      if (pruned.size === 0) return 0;
      const tables = [...pruned, 'seen_events'];
      pruned.clear();
      const client = await checkout(pool);
      try {
        const { rows } = await client.query<{ on: boolean }>(
          `SELECT current_setting('autovacuum') = 'on' AND NOT EXISTS (
             SELECT 1 FROM pg_class c WHERE c.oid = to_regclass('events') AND 'autovacuum_enabled=false' = ANY(coalesce(c.reloptions, '{}'))) AS on`,
        );
        if (rows[0]?.on) return 0;
        await client.query('SET statement_timeout = 0');
        for (const table of tables) await client.query(`VACUUM (ANALYZE) "${table.replaceAll('"', '""')}"`);
        return 0;
      } finally {
        checkin(client, true); // closed: the session's settings go with it
      }
    },
    stats: async () => {
      const { rows: relations } = await pool.query<{ name: string; bytes: number; estimate: number }>(
        `SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS bytes, greatest(c.reltuples, 0)::bigint AS estimate
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
      );
      const tables: Record<string, KindStats> = {};
      for (const r of relations) {
        let rows: number;
        try {
          rows = Number((await pool.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM "${r.name.replaceAll('"', '""')}"`)).rows[0]!.n);
        } catch {
          rows = Number(r.estimate); // a table too large to count within statement_timeout
        }
        tables[r.name] = { rows, bytes: Number(r.bytes) };
      }
      const { rows: db } = await pool.query<{ bytes: number; oldest: number | null; last: { finished_at: number; took_ms: number; counts: string } | null }>(
        `SELECT pg_database_size(current_database())::bigint AS bytes,
                (SELECT received_at FROM events ORDER BY seq LIMIT 1) AS oldest,
                (SELECT row_to_json(p) FROM prune_log p WHERE id = 1) AS last`,
      );
      const row = db[0]!;
      return {
        backend: 'postgres',
        tables,
        database: { bytes: Number(row.bytes), freeBytes: null },
        oldestEventAt: row.oldest === null ? null : Number(row.oldest),
        lastPrune: toPruneRecord(row.last ?? undefined),
      };
    },
  };
}
