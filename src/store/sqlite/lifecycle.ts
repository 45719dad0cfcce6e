import { statSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { noCounts, toPruneRecord, type Lifecycle, type PruneBatch, type PruneCounts, type PruneCutoffs, type StoreStats } from '../ports/lifecycle.ts';
import { sqliteStatsOf } from './stats.ts';
import type { Writer } from './writer.ts';

/** The `store` action table the built-in summary recipe writes (summaries retention). */
export const summariesTable = 'conversation_summaries';
const liveStatuses = `('queued', 'running', 'retrying', 'waiting')`;

/**
 * A new, empty file keeps its free pages apart so that they can be returned to the file system
 * (PRAGMA incremental_vacuum after a prune). SQLite allows this only before the first table; a file
 * created before keeps auto_vacuum=none, and its freed pages are still reused before it grows.
 */
export function prepareNewFile(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) === 0 && (db.pragma('page_count', { simple: true }) as number) === 0) {
    db.pragma('auto_vacuum = INCREMENTAL');
  }
}

export function sqliteLifecycle(db: Database.Database, writer: Writer, file: string): Lifecycle {
  const horizon = db
    .prepare(`SELECT min(s) FROM (
      SELECT min(seq) AS s FROM events WHERE status = 'received'
      UNION ALL SELECT min(event_seq) FROM runs WHERE status IN ${liveStatuses})`)
    .pluck();
  const oldest = db.prepare(`SELECT seq, received_at FROM events WHERE seq < :horizon ORDER BY seq LIMIT :limit`);
  const runsUpTo = `SELECT id FROM runs WHERE event_seq <= :last`;
  const deleteAttempts = db.prepare(`DELETE FROM attempts WHERE run_id IN (${runsUpTo})`);
  const deleteSteps = db.prepare(`DELETE FROM steps WHERE run_id IN (${runsUpTo})`);
  const deleteWaits = db.prepare(`DELETE FROM waits WHERE run_id IN (${runsUpTo})`);
  const deleteRuns = db.prepare(`DELETE FROM runs WHERE event_seq <= :last`);
  // What bulk replays and retries did to them goes with the events and runs (by primary key).
  const deleteRetried = db.prepare(`DELETE FROM bulk_items WHERE kind = 'retry' AND target IN (${runsUpTo})`);
  const deleteReplayed = db.prepare(`DELETE FROM bulk_items WHERE kind = 'replay' AND target IN (SELECT CAST(seq AS TEXT) FROM events WHERE seq <= :last)`);
  const deleteEvents = db.prepare(`DELETE FROM events WHERE seq <= :last`);

  const lastMark = db.prepare(`SELECT max(at) FROM seq_marks`).pluck();
  const addMark = db.prepare(`INSERT OR IGNORE INTO seq_marks (at, seq) SELECT :now, coalesce(max(seq), 0) FROM events`);
  const markBefore = db.prepare(`SELECT at, seq FROM seq_marks WHERE at <= ? ORDER BY at DESC LIMIT 1`);
  const dropMarks = db.prepare(`DELETE FROM seq_marks WHERE at < ?`);
  const deleteTranscripts = db.prepare(`DELETE FROM transcript_messages WHERE rowid IN (
    SELECT rowid FROM transcript_messages WHERE event_seq <= ? ORDER BY event_seq LIMIT ?)`);

  const oldTickets = db.prepare(`SELECT id FROM tickets WHERE updated_at < ? ORDER BY updated_at LIMIT ?`).pluck();
  const ticketIds = `SELECT value FROM json_each(:ids)`;
  const messageIds = `SELECT id FROM ticket_messages WHERE ticket_id IN (${ticketIds})`;
  const deleteAttachmentRows = db.prepare(`DELETE FROM attachments WHERE ticket_message_id IN (${messageIds})`);
  const deleteRefs = db.prepare(`DELETE FROM ticket_message_refs WHERE ticket_message_id IN (${messageIds})`);
  const deleteMessages = db.prepare(`DELETE FROM ticket_messages WHERE ticket_id IN (${ticketIds})`);
  const deleteParticipants = db.prepare(`DELETE FROM ticket_participants WHERE ticket_id IN (${ticketIds})`);
  const deleteTickets = db.prepare(`DELETE FROM tickets WHERE id IN (${ticketIds})`);
  const hasSummaries = db.prepare(`SELECT 1 FROM store_tables WHERE name = ?`).pluck();

  const prune = db.transaction((cutoffs: PruneCutoffs, now: number, limit: number, markEveryMs: number | undefined): PruneBatch => {
    const counts: PruneCounts = noCounts();
    let more = false;
    if (cutoffs.events !== undefined) {
      const rows = oldest.all({ horizon: horizon.get() ?? Number.MAX_SAFE_INTEGER, limit }) as Array<{ seq: number; received_at: number }>;
      // In seq order up to the first one still young (received_at follows seq, give or take a clock).
      let last: number | undefined;
      for (const row of rows) {
        if (row.received_at >= cutoffs.events) break;
        last = row.seq;
      }
      if (last !== undefined) {
        counts.attempts = deleteAttempts.run({ last }).changes;
        counts.steps = deleteSteps.run({ last }).changes;
        counts.waits = deleteWaits.run({ last }).changes;
        deleteRetried.run({ last });
        counts.runs = deleteRuns.run({ last }).changes;
        deleteReplayed.run({ last });
        counts.events = deleteEvents.run({ last }).changes;
        more ||= counts.events === limit;
      }
    }
    if (cutoffs.transcripts !== undefined && markEveryMs !== undefined) {
      const latest = lastMark.get() as number | null;
      if (latest === null || now - latest >= markEveryMs) addMark.run({ now });
      const mark = markBefore.get(cutoffs.transcripts) as { at: number; seq: number } | undefined;
      if (mark) {
        counts.transcripts = deleteTranscripts.run(mark.seq, limit).changes;
        more ||= counts.transcripts === limit;
        dropMarks.run(mark.at); // the older ones date nothing any more
      }
    }
    if (cutoffs.tickets !== undefined) {
      const ids = oldTickets.all(cutoffs.tickets, limit) as number[];
      if (ids.length > 0) {
        const p = { ids: JSON.stringify(ids) };
        counts.attachments = deleteAttachmentRows.run(p).changes;
        deleteRefs.run(p);
        counts.ticket_messages = deleteMessages.run(p).changes;
        deleteParticipants.run(p);
        counts.tickets = deleteTickets.run(p).changes;
        more ||= ids.length === limit;
      }
    }
    if (cutoffs.summaries !== undefined && hasSummaries.get(summariesTable)) {
      const rows = db.prepare(`SELECT row_id, stored_at FROM "${summariesTable}" ORDER BY row_id LIMIT ?`).all(limit) as Array<{ row_id: number; stored_at: number }>;
      let last: number | undefined;
      for (const row of rows) {
        if (row.stored_at >= cutoffs.summaries) break;
        last = row.row_id;
      }
      if (last !== undefined) {
        counts.summaries = db.prepare(`DELETE FROM "${summariesTable}" WHERE row_id <= ?`).run(last).changes;
        more ||= counts.summaries === limit;
      }
    }
    return { counts, more };
  });

  const attachmentRefs = db.prepare(`SELECT DISTINCT sha256 FROM attachments WHERE sha256 IN (SELECT value FROM json_each(?))`).pluck();
  const bodiesWithFiles = db.prepare(`SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
  const saveRecord = db.prepare(`
    INSERT INTO prune_log (id, finished_at, took_ms, counts) VALUES (1, @finishedAt, @tookMs, @counts)
    ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, took_ms = excluded.took_ms, counts = excluded.counts`);
  const readRecord = db.prepare(`SELECT finished_at, took_ms, counts FROM prune_log WHERE id = 1`);

  return {
    // The group-commit writer: a batch shares its transaction with the receives of the same turn
    // and holds the event loop only for its own deletes (kept short by `limit`).
    pruneBatch: async (cutoffs, now, limit) => writer.write(() => prune(cutoffs, now, limit, markEvery(cutoffs, now))),
    referencedAttachments: async (sha256s) => {
      const wanted = new Set(sha256s);
      const found = new Set<string>();
      for (const sha of attachmentRefs.all(JSON.stringify(sha256s)) as string[]) found.add(sha);
      // Events keep their attachments' SHA-256 in the body: read them a thousand at a time,
      // giving the event loop back in between.
      let after = 0;
      for (;;) {
        const rows = bodiesWithFiles.all(after, 1000) as Array<{ seq: number; body: string }>;
        if (rows.length === 0 || found.size === wanted.size) break;
        for (const row of rows) {
          if (!row.body.includes('"sha256"')) continue;
          for (const sha of row.body.match(/[0-9a-f]{64}/g) ?? []) if (wanted.has(sha)) found.add(sha);
        }
        after = rows.at(-1)!.seq;
        await turn();
      }
      return found;
    },
    recordPrune: async (record) => {
      await writer.write(() => saveRecord.run({ finishedAt: record.finishedAt, tookMs: record.tookMs, counts: JSON.stringify(record.counts) }));
    },
    reclaim: async (maxPages) => {
      if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) return 0;
      // An eighth of the file stays free: the next inserts reuse it instead of growing the file again.
      const free = db.pragma('freelist_count', { simple: true }) as number;
      const slack = Math.floor((db.pragma('page_count', { simple: true }) as number) / 8);
      const pages = Math.min(Math.floor(maxPages), free - slack);
      if (pages <= 0) return 0;
      await writer.write(() => db.pragma(`incremental_vacuum(${pages})`));
      return free - (db.pragma('freelist_count', { simple: true }) as number);
    },
    stats: async () => {
      const lastPrune = toPruneRecord(readRecord.get() as Parameters<typeof toPruneRecord>[0]);
      // A worker that cannot start (or fails) leaves the counting to this thread.
      const stats = file === ':memory:' ? sqliteStatsOf(db) : await statsInWorker(file).catch(() => sqliteStatsOf(db));
      if (file !== ':memory:') stats.database.walBytes = fileSize(`${file}-wal`);
      return { ...stats, lastPrune };
    },
  };
}

/** Marks date transcript messages: about a hundred per retention period, at most one an hour, at least a second apart. */
function markEvery(cutoffs: PruneCutoffs, now: number): number | undefined {
  if (cutoffs.transcripts === undefined) return undefined;
  return Math.min(3_600_000, Math.max(1_000, Math.floor((now - cutoffs.transcripts) / 100)));
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Counting rows and reading dbstat walks every page of the file: done on a connection of its own in
 * a worker thread, so the event loop that acknowledges webhooks does not wait for it.
 */
function statsInWorker(file: string): Promise<Omit<StoreStats, 'lastPrune'>> {
  return new Promise((resolve, reject) => {
    // stats-worker.ts in a checkout, stats-worker.js in the installed package (dist/).
    const worker = new Worker(new URL(`./stats-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: { file } });
    worker.once('message', (message: { stats?: Omit<StoreStats, 'lastPrune'>; error?: string }) => {
      if (message.stats) resolve(message.stats);
      else reject(new Error(`SQLite stats of ${file}: ${message.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`SQLite stats of ${file}: the worker exited with ${code}`)));
  });
}
