import { Gauge, type Registry } from 'prom-client';
import { pruneKinds } from '../store/types.ts';
import type { LifecycleStats } from './stats.ts';

/**
 * The data-lifecycle gauges of /metrics. Counting every table is not free (a worker thread on
 * SQLite, count(*) on PostgreSQL): one computation serves the scrapes of `maxAgeMs`.
 */
export function registerLifecycleMetrics(registry: Registry, read: () => Promise<LifecycleStats>, maxAgeMs = 30_000): void {
  // A store that cannot answer leaves these gauges out of the scrape (the others still answer). One
  // computation at a time, reused until `maxAgeMs` after it finished: on a large store a count can
  // take longer than the interval between scrapes.
  let cached: { done: number | undefined; value: Promise<LifecycleStats | undefined> } | undefined;
  const stats = () => {
    if (!cached || (cached.done !== undefined && performance.now() - cached.done > maxAgeMs)) {
      const entry: NonNullable<typeof cached> = { done: undefined, value: read().catch(() => undefined) };
      cached = entry;
      void entry.value.then((v) => {
        entry.done = performance.now();
        if (v === undefined && cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
  const registers = [registry];
  new Gauge({
    name: 'hookline_store_rows',
    help: 'Rows kept, by kind (events, runs, steps, attempts, waits, dedup, transcripts, tickets, ticket_messages, summaries)',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const s = await stats();
      for (const [kind, k] of Object.entries(s?.kinds ?? {})) this.set({ kind }, k.rows);
    },
  });
  new Gauge({
    name: 'hookline_store_bytes',
    help: 'Bytes of the tables (with their indexes) of each kind, where the store can tell',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const s = await stats();
      for (const [kind, k] of Object.entries(s?.kinds ?? {})) if (k.bytes !== null) this.set({ kind }, k.bytes);
    },
  });
  new Gauge({
    name: 'hookline_store_database_bytes',
    help: 'Size of the database: SQLite page_count*page_size, PostgreSQL pg_database_size',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.database.bytes);
    },
  });
  new Gauge({
    name: 'hookline_store_free_bytes',
    help: 'SQLite: bytes of free pages in the file, reused before it grows',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.database.freeBytes ?? 0);
    },
  });
  new Gauge({
    name: 'hookline_attachments_bytes',
    help: 'Bytes of saved attachment files',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.attachments.bytes);
    },
  });
  new Gauge({
    name: 'hookline_attachments_files',
    help: 'Saved attachment files',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.attachments.files);
    },
  });
  new Gauge({
    name: 'hookline_oldest_event_age_seconds',
    help: 'Age of the oldest kept event (0 when there is none)',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.oldestEvent?.ageSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'hookline_last_prune_timestamp_seconds',
    help: 'When the last prune pass finished (0: never)',
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.lastPrune ? s.lastPrune.finishedAt / 1000 : 0);
    },
  });
  new Gauge({
    name: 'hookline_last_prune_deleted',
    help: 'Rows (and attachment files) the last prune pass deleted, by kind',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const s = await stats();
      if (s) for (const kind of [...pruneKinds, 'files' as const]) this.set({ kind }, s.lastPrune?.counts[kind] ?? 0);
    },
  });
}
