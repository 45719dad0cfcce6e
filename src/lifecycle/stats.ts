import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KindStats, PruneRecord, Store, StoreStats } from '../store/types.ts';

/** What `hookline stats`, GET /admin/stats and the /metrics gauges report (PRODUCT §10). */
export interface LifecycleStats {
  backend: StoreStats['backend'];
  /** Rows and bytes of each kind operators think in; bytes include the table's indexes (null: unknown). */
  kinds: Record<Kind, KindStats>;
  /** Every table of the store: hookline's own and the `store` action's. */
  tables: Record<string, KindStats>;
  database: StoreStats['database'];
  attachments: { dir: string; files: number; bytes: number };
  oldestEvent: { receivedAt: number; ageSeconds: number } | null;
  lastPrune: PruneRecord | null;
}

export const kindTables = {
  events: ['events'],
  runs: ['runs'],
  steps: ['steps'],
  attempts: ['attempts'],
  waits: ['waits'],
  dedup: ['seen_events'],
  transcripts: ['transcript_messages'],
  tickets: ['tickets'],
  ticket_messages: ['ticket_messages', 'ticket_message_refs', 'ticket_participants', 'attachments', 'customers'],
  summaries: ['conversation_summaries'],
} as const;
export type Kind = keyof typeof kindTables;

export async function lifecycleStats(store: Store, attachmentsDir: string, now: number): Promise<LifecycleStats> {
  const [stats, attachments] = await Promise.all([store.lifecycle.stats(), folderSize(attachmentsDir)]);
  const kinds = {} as Record<Kind, KindStats>;
  for (const [kind, tables] of Object.entries(kindTables) as Array<[Kind, readonly string[]]>) {
    // A kind's rows are those of its main table; its bytes those of every table that belongs to it.
    const own = tables.map((t) => stats.tables[t]).filter((t): t is KindStats => t !== undefined);
    kinds[kind] = {
      rows: stats.tables[tables[0]!]?.rows ?? 0,
      bytes: own.length === 0 ? 0 : own.some((t) => t.bytes === null) ? null : own.reduce((n, t) => n + t.bytes!, 0),
    };
  }
  return {
    backend: stats.backend,
    kinds,
    tables: stats.tables,
    database: stats.database,
    attachments: { dir: attachmentsDir, ...attachments },
    oldestEvent: stats.oldestEventAt === null ? null : { receivedAt: stats.oldestEventAt, ageSeconds: Math.max(0, Math.round((now - stats.oldestEventAt) / 1000)) },
    lastPrune: stats.lastPrune,
  };
}

/** Files and bytes under the attachments folder (its two-character shards). */
async function folderSize(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (path: string, depth: number): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
      const full = join(path, entry.name);
      if (entry.isDirectory() && depth < 2) await walk(full, depth + 1);
      else if (entry.isFile()) {
        const info = await stat(full).catch(() => undefined);
        if (info) {
          files++;
          bytes += info.size;
        }
      }
    }
  };
  await walk(dir, 0);
  return { files, bytes };
}

/** The JSON of GET /admin/stats and `hookline stats --json`: times as ISO strings. */
export function statsJson(s: LifecycleStats) {
  return {
    backend: s.backend,
    kinds: s.kinds,
    tables: s.tables,
    database: {
      bytes: s.database.bytes,
      free_bytes: s.database.freeBytes,
      ...(s.database.walBytes !== undefined && { wal_bytes: s.database.walBytes }),
      ...(s.database.autoVacuum !== undefined && { auto_vacuum: s.database.autoVacuum }),
    },
    attachments: s.attachments,
    oldest_event: s.oldestEvent && { received_at: new Date(s.oldestEvent.receivedAt).toISOString(), age_seconds: s.oldestEvent.ageSeconds },
    last_prune: s.lastPrune && { finished_at: new Date(s.lastPrune.finishedAt).toISOString(), took_ms: s.lastPrune.tookMs, deleted: s.lastPrune.counts },
  };
}
