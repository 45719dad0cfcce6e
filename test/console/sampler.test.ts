import { afterEach, describe, expect, it } from 'vitest';
import { quantile, Sampler, sumAck } from '../../src/console/sampler.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { manualClock } from '../../src/util/clock.ts';
import { tempDir } from '../helpers/env.ts';

const minute = 60_000;
const start = Date.parse('2026-11-20T10:00:00Z');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fixture(): Promise<{ store: Store; sampler: Sampler; metrics: ReturnType<typeof createMetrics>; clock: ReturnType<typeof manualClock> }> {
  const temp = tempDir();
  const store = await openStore({ url: `sqlite:${temp.dir}/h.db`, synchronous: 'normal' } as never);
  const clock = manualClock(start);
  const metrics = createMetrics(() => store.read.runCounts());
  const sampler = new Sampler({ store, metrics, clock });
  cleanups.push(async () => {
    sampler.stop();
    await store.close();
    temp.cleanup();
  });
  return { store, sampler, metrics, clock };
}

describe('quantile of histogram buckets', () => {
  it('interpolates inside the bucket like histogram_quantile', () => {
    const bounds = [0.001, 0.01, 0.1, Infinity];
    // 50 observations <= 1 ms, 40 in (1, 10] ms, 10 in (10, 100] ms.
    const cumulative = [50, 90, 100, 100];
    expect(quantile(0.5, bounds, cumulative)).toBeCloseTo(0.001);
    expect(quantile(0.75, bounds, cumulative)).toBeCloseTo(0.001 + 0.009 * (25 / 40));
    expect(quantile(0.99, bounds, cumulative)).toBeCloseTo(0.01 + 0.09 * (9 / 10));
    expect(quantile(0.5, bounds, [0, 0, 0, 0])).toBeUndefined();
    // Everything above the last finite bound: the bound is the best answer.
    expect(quantile(0.5, bounds, [0, 0, 0, 5])).toBe(0.1);
  });

  it('sums minutes', () => {
    expect(sumAck([{ ack: [1, 2] }, { ack: [3, 4] }] as never)).toEqual([4, 6]);
  });
});

describe('the per-minute sampler', () => {
  it('puts counter increases in the minute they were seen, and keeps 60 minutes', async () => {
    const { sampler, metrics, clock } = await fixture();
    await sampler.sample();
    metrics.received.inc({ source: 'muro', outcome: 'accepted' }, 3);
    metrics.received.inc({ source: 'muro', outcome: 'signature_mismatch' });
    metrics.ackLatency.observe({ source: 'muro' }, 0.002);
    metrics.ackLatency.observe({ source: 'muro' }, 0.003);
    metrics.runs.inc({ recipe: 'a', outcome: 'done' }, 2);
    await sampler.sample();
    clock.advance(minute);
    metrics.received.inc({ source: 'meru', outcome: 'accepted' });
    await sampler.sample();

    const series = sampler.series();
    expect(series).toHaveLength(60);
    const [previous, current] = series.slice(-2);
    expect(previous!.start).toBe(start);
    expect(previous!.received).toEqual({ 'muro accepted': 3, 'muro signature_mismatch': 1 });
    expect(previous!.runs).toEqual({ done: 2 });
    // One observation in the (1 ms, 2 ms] bucket, one in (2 ms, 5 ms].
    expect(quantile(0.5, sampler.ackBounds(), previous!.ack)).toBeCloseTo(0.002);
    expect(quantile(0.99, sampler.ackBounds(), previous!.ack)).toBeCloseTo(0.002 + 0.003 * 0.98);
    expect(current!.received).toEqual({ 'meru accepted': 1 });
    expect(current!.queue).toEqual({});

    clock.advance(61 * minute);
    await sampler.sample();
    expect(sampler.series().flatMap((m) => Object.keys(m.received))).toEqual([]);
  });

  it('counts accepted events of the hour before it started from the store', async () => {
    const { store, metrics } = await fixture();
    const receive = (id: string, source: string, at: number) =>
      store.inbox.receive({ source, eventId: id, type: 't', receivedAt: at, headers: {}, body: '{}', test: false }, 1000);
    await receive('old', 'muro', start - 2 * 60 * minute);
    await receive('a', 'muro', start - 30 * minute);
    await receive('b', 'muro', start - 30 * minute + 5);
    await receive('c', 'meru', start - 5 * minute);
    const clock = manualClock(start);
    const sampler = new Sampler({ store, metrics, clock, intervalMs: 3_600_000 });
    sampler.start();
    cleanups.push(() => sampler.stop());
    await expect.poll(() => sampler.series().reduce((n, m) => n + Object.values(m.received).reduce((a, b) => a + b, 0), 0)).toBe(3);
    const byMinute = sampler.series().filter((m) => Object.keys(m.received).length > 0);
    expect(byMinute.map((m) => [m.start, m.received])).toEqual([
      [start - 30 * minute, { 'muro accepted': 2 }],
      [start - 5 * minute, { 'meru accepted': 1 }],
    ]);
  });
});
