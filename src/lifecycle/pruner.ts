import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import { noCounts, pruneKinds, type PruneCounts, type PruneCutoffs, type PruneRecord, type Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Retention } from './retention-config.ts';

export interface PrunerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Read at each pass: a config reload applies at the next one. */
  retention: () => Retention;
  attachmentsDir: () => string;
  /** Between passes; default: a sixth of the shortest retention, between 1 s and 1 min. */
  intervalMs?: number;
}

/**
 * Rows of each kind per batch to start with; adapted so that a batch takes about `targetMs`. On
 * SQLite a batch holds the event loop and the one writer, so it is kept short; on PostgreSQL it
 * holds only its rows and one connection (and each batch costs round trips), so it may be longer.
 */
const firstLimit = 200;
const minLimit = 20;
const maxLimit = { sqlite: 2_000, postgres: 5_000 };
const targetMs = { sqlite: 8, postgres: 100 };
/** Files younger than this are never deleted: an email's file is saved before its event commits. */
const minFileAgeMs = 60_000;
const sha256Name = /^[0-9a-f]{64}$/;

/**
 * The background pruner (PRODUCT §10): every interval, one pass deletes what retention lets go, in
 * batches short enough that receives committed between them never wait long for the store, then
 * attachment files no kept ticket or event references, then gives SQLite's free pages back.
 */
export class Pruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private limit = firstLimit;
  private readonly deps: PrunerDeps;

  constructor(deps: PrunerDeps) {
    this.deps = deps;
  }

  start(): void {
    this.stopped = false;
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.pass()
          .catch((err: unknown) => this.deps.logger.warn({ err }, 'prune pass failed; the next pass tries again'))
          .finally(schedule);
      }, this.interval());
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  interval(): number {
    if (this.deps.intervalMs !== undefined) return this.deps.intervalMs;
    const r = this.deps.retention();
    const finite = [r.events, r.attachments, r.transcripts, r.tickets, r.summaries].filter((v): v is number => v !== null);
    return Math.min(60_000, Math.max(1_000, Math.floor(Math.min(60_000 * 6, ...finite) / 6)));
  }

  /** One pass. Undefined when another instance was pruning (PostgreSQL): it does the work. */
  async pass(): Promise<PruneRecord | undefined> {
    const { store, clock, logger } = this.deps;
    const started = clock.now();
    const startedAt = performance.now();
    const retention = this.deps.retention();
    const cutoffs = cutoffsOf(retention, started);
    const counts: PruneCounts = noCounts();
    for (;;) {
      if (this.stopped) break;
      const t = performance.now();
      const batch = await store.lifecycle.pruneBatch(cutoffs, started, this.limit);
      if (batch === 'busy') return undefined;
      this.adapt(performance.now() - t);
      for (const kind of pruneKinds) counts[kind] += batch.counts[kind];
      if (!batch.more) break;
      // Let the receives that arrived meanwhile through before the next batch.
      await sleep(1);
    }
    // Dedup records past their TTL, in the same small batches: this is the only purge of them.
    for (let n; !this.stopped && (n = await store.inbox.purgeSeen(started, this.limit)) > 0; ) {
      counts.dedup += n;
      if (n < this.limit) break;
      await sleep(1);
    }
    const files = retention.attachments === null || this.stopped ? 0 : await this.sweepAttachments(started - retention.attachments);
    let reclaimed = 0;
    for (let pages; !this.stopped && (pages = await store.lifecycle.reclaim(256)) > 0; ) {
      reclaimed += pages;
      await sleep(1);
    }
    const record: PruneRecord = { finishedAt: clock.now(), tookMs: Math.round(performance.now() - startedAt), counts: { ...counts, files } };
    await store.lifecycle.recordPrune(record);
    const deleted = pruneKinds.reduce((n, k) => n + counts[k], files);
    if (deleted > 0) logger.info({ pruned: record.counts, took_ms: record.tookMs, pages_returned: reclaimed }, 'pruned records past their retention');
    return record;
  }

  /** A batch that took twice the target halves the next; one under half of it doubles it. */
  private adapt(ms: number): void {
    const kind = this.deps.store.kind;
    if (ms > 2 * targetMs[kind]) this.limit = Math.max(minLimit, Math.floor(this.limit / 2));
    else if (ms < targetMs[kind] / 2) this.limit = Math.min(maxLimit[kind], this.limit * 2);
  }

  /**
   * Deletes saved attachment files older than `before` that no kept ticket or event references, and
   * temporary files a crash left behind. A file saved again since (same content) is touched, and
   * its time checked again just before deleting.
   */
  private async sweepAttachments(before: number): Promise<number> {
    const dir = this.deps.attachmentsDir();
    const cutoff = Math.min(before, this.deps.clock.now() - minFileAgeMs);
    const old: string[] = [];
    const temporary: string[] = [];
    for (const shard of await readdir(dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(dir, shard)).catch(() => [] as string[])) {
        const info = await stat(join(dir, shard, name)).catch(() => undefined);
        if (!info?.isFile() || info.mtimeMs >= cutoff) continue;
        if (sha256Name.test(name)) old.push(name);
        else if (name.endsWith('.tmp')) temporary.push(join(dir, shard, name));
      }
    }
    let deleted = 0;
    for (const path of temporary) if (await unlink(path).then(() => true, () => false)) deleted++;
    for (let i = 0; i < old.length; i += 500) {
      const chunk = old.slice(i, i + 500);
      const referenced = await this.deps.store.lifecycle.referencedAttachments(chunk);
      for (const sha of chunk) {
        if (referenced.has(sha)) continue;
        const path = join(dir, sha.slice(0, 2), sha);
        const info = await stat(path).catch(() => undefined);
        if (!info || info.mtimeMs >= cutoff) continue;
        if (await unlink(path).then(() => true, () => false)) deleted++;
      }
    }
    return deleted;
  }
}

export function cutoffsOf(retention: Retention, now: number): PruneCutoffs {
  const at = (keep: number | null) => (keep === null ? undefined : now - keep);
  return { events: at(retention.events), transcripts: at(retention.transcripts), tickets: at(retention.tickets), summaries: at(retention.summaries) };
}
