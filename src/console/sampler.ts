import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RunStatus, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

/**
 * The overview's per-minute series over the last hour. Prometheus keeps history, hookline does not:
 * this keeps 60 one-minute buckets in memory, fed every few seconds from this instance's metrics
 * registry (webhooks by source and outcome, ack latency histogram, runs finished) and from the store
 * (queue depth and dead letters, shared by every instance). Accepted events of the hour before the
 * sampler started are counted from the events table, so a restart does not blank the chart.
 */

export const minuteMs = 60_000;
export const windowMinutes = 60;

export interface Minute {
  start: number;
  /** Webhook requests by "source outcome" (accepted, duplicate, or the rejection). */
  received: Record<string, number>;
  /** Runs finished by outcome (done, dead). */
  runs: Record<string, number>;
  /** Ack latency observations in this minute, cumulative per bucket bound (as Prometheus buckets). */
  ack: number[];
  /** The last sample of run counts by status in this minute (queue depth, dead letters). */
  queue: Partial<Record<RunStatus, number>> | undefined;
}

type Snapshot = Map<string, number>;

export interface SamplerDeps {
  store: Store;
  metrics: Metrics;
  clock: Clock;
  logger?: Logger;
  intervalMs?: number;
}

export class Sampler {
  private readonly deps: SamplerDeps;
  private readonly minutes = new Map<number, Minute>();
  private readonly startedAt: number;
  private bounds: number[] = [];
  private prevReceived: Snapshot = new Map();
  private prevRuns: Snapshot = new Map();
  private prevAck: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private latestCounts: Partial<Record<RunStatus, number>> = {};

  constructor(deps: SamplerDeps) {
    this.deps = deps;
    this.startedAt = deps.clock.now();
  }

  /** Samples now and every `intervalMs` (10 s) until stopped; backfills from the events table. */
  start(): void {
    void this.backfill().catch((err: unknown) => this.deps.logger?.warn({ err }, 'console: backfill of the events chart failed'));
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.deps.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes a sample (one at a time; a caller during a sample waits for it). */
  sample(): Promise<void> {
    this.running ??= this.take()
      .catch((err: unknown) => this.deps.logger?.warn({ err }, 'console: metrics sample failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Run counts by status as of the last sample. */
  counts(): Partial<Record<RunStatus, number>> {
    return this.latestCounts;
  }

  /** The 60 minutes up to and including the current one, oldest first (gaps as empty minutes). */
  series(now = this.deps.clock.now()): Minute[] {
    const last = Math.floor(now / minuteMs) * minuteMs;
    const out: Minute[] = [];
    for (let i = windowMinutes - 1; i >= 0; i--) {
      const start = last - i * minuteMs;
      out.push(this.minutes.get(start) ?? emptyMinute(start, this.bounds.length));
    }
    return out;
  }

  /** Upper bounds of the ack latency buckets, in seconds (+Inf last). */
  ackBounds(): number[] {
    return this.bounds;
  }

  private async take(): Promise<void> {
    const { metrics, store, clock } = this.deps;
    const [received, runs, ack, counts] = await Promise.all([metrics.received.get(), metrics.runs.get(), metrics.ackLatency.get(), store.read.runCounts()]);
    const minute = this.minute(clock.now());

    const receivedNow: Snapshot = new Map(received.values.map((v) => [`${v.labels.source} ${v.labels.outcome}`, v.value]));
    addDeltas(minute.received, receivedNow, this.prevReceived, (key) => key);
    this.prevReceived = receivedNow;

    const runsNow: Snapshot = new Map();
    for (const v of runs.values) {
      const key = String(v.labels.outcome);
      runsNow.set(key, (runsNow.get(key) ?? 0) + v.value);
    }
    addDeltas(minute.runs, runsNow, this.prevRuns, (key) => key);
    this.prevRuns = runsNow;

    // Bucket counts summed over sources, by upper bound.
    const byBound = new Map<number, number>();
    for (const v of ack.values) {
      if (!v.metricName?.endsWith('_bucket')) continue;
      const bound = (v.labels as { le?: string | number }).le;
      const le = bound === '+Inf' ? Infinity : Number(bound);
      byBound.set(le, (byBound.get(le) ?? 0) + v.value);
    }
    const bounds = [...byBound.keys()].sort((a, b) => a - b);
    if (bounds.length > 0) {
      if (this.bounds.length === 0) this.bounds = bounds;
      const cumulative = this.bounds.map((b) => byBound.get(b) ?? 0);
      if (minute.ack.length !== cumulative.length) minute.ack = cumulative.map(() => 0);
      cumulative.forEach((c, i) => {
        const prev = this.prevAck[i] ?? 0;
        minute.ack[i]! += c >= prev ? c - prev : c;
      });
      this.prevAck = cumulative;
    }

    minute.queue = counts;
    this.latestCounts = counts;
    this.prune();
  }

  /** Accepted events per minute by source, from the events table, for the hour before start. */
  private async backfill(): Promise<void> {
    const since = this.startedAt - windowMinutes * minuteMs;
    let before: number | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const batch = await this.deps.store.read.events({ limit: 500, before });
      for (const e of batch) {
        if (e.receivedAt < since) return;
        if (e.receivedAt >= this.startedAt) continue;
        const minute = this.minute(e.receivedAt);
        const key = `${e.source} accepted`;
        minute.received[key] = (minute.received[key] ?? 0) + 1;
      }
      if (batch.length < 500) return;
      before = batch[batch.length - 1]!.seq;
    }
  }

  private minute(t: number): Minute {
    const start = Math.floor(t / minuteMs) * minuteMs;
    let m = this.minutes.get(start);
    if (!m) {
      m = emptyMinute(start, this.bounds.length);
      this.minutes.set(start, m);
    }
    return m;
  }

  private prune(): void {
    const oldest = Math.floor(this.deps.clock.now() / minuteMs) * minuteMs - windowMinutes * minuteMs;
    for (const start of this.minutes.keys()) if (start <= oldest) this.minutes.delete(start);
  }
}

function emptyMinute(start: number, buckets: number): Minute {
  return { start, received: {}, runs: {}, ack: new Array<number>(buckets).fill(0), queue: undefined };
}

function addDeltas(into: Record<string, number>, now: Snapshot, prev: Snapshot, key: (k: string) => string): void {
  for (const [k, value] of now) {
    const before = prev.get(k) ?? 0;
    // A counter that went down was reset: count what it has now.
    const delta = value >= before ? value - before : value;
    if (delta > 0) into[key(k)] = (into[key(k)] ?? 0) + delta;
  }
}

/**
 * The q-quantile of histogram buckets (cumulative counts per upper bound), interpolated linearly
 * inside the bucket as Prometheus' histogram_quantile does. Undefined when there is no observation.
 */
export function quantile(q: number, bounds: number[], cumulative: number[]): number | undefined {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0 || bounds.length === 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    const count = cumulative[i]!;
    if (count >= rank) {
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = count - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
  }
  return bounds[bounds.length - 2];
}

/** Sums the ack buckets of several minutes. */
export function sumAck(minutes: Minute[]): number[] {
  const out: number[] = [];
  for (const m of minutes) m.ack.forEach((c, i) => (out[i] = (out[i] ?? 0) + c));
  return out;
}
