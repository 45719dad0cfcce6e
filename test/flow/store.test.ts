// The flow store on both backends: a hold keeps the run's attempt count, claims and nextDue skip
// paused recipes and take them back in order on resume, rate reservations from two store handles
// (two instances on PostgreSQL) never crowd a window, and a circuit opened through one handle holds
// the other's runs until the probe's success makes them due.
import { afterEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { attempt, createRuns, run, T0 } from '../store/fixtures.ts';
import { busiestWindow } from './windows.ts';

describeBackends('flow store', (backend) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function stores(n: number): Promise<{ handles: Store[]; db: FreshStore }> {
    const temp = tempDir('hookline-flow-store-');
    const db = await backend.fresh(temp.dir);
    cleanups.push(async () => {
      await db.drop();
      temp.cleanup();
    });
    const handles: Store[] = [];
    for (let i = 0; i < n; i++) {
      const store = await openStore(configSchema.parse({ store: { url: db.url } }).store, { longRunning: false });
      handles.push(store);
      cleanups.push(() => store.close());
    }
    return { handles, db };
  }
  const policy = { after: 2, coolDownMs: 10_000 };

  it('hold: back in the queue due at its time with the reason, the attempt recorded but not counted; the next write clears the reason', async () => {
    const [store] = (await stores(1)).handles as [Store];
    await createRuns(store, [run('r1')]);
    await store.queue.claim({ owner: 'w', now: T0, leaseMs: 30_000, limit: 1 });
    await store.queue.hold({ runId: 'r1', owner: 'w' }, { reason: 'circuit:slack', availableAt: T0 + 5000, attempt: attempt('r1', 'post', { outcome: 'retry' }), now: T0 + 1 });
    expect(await store.read.run('r1')).toMatchObject({ status: 'queued', attempt: 0, availableAt: T0 + 5000, hold: 'circuit:slack', attempts: [expect.objectContaining({ outcome: 'retry' })] });
    expect(await store.flow.held()).toEqual({ 'circuit:slack': 1 });
    expect(await store.queue.claim({ owner: 'w', now: T0 + 4999, leaseMs: 30_000, limit: 1 })).toEqual([]);
    const [again] = await store.queue.claim({ owner: 'w', now: T0 + 5000, leaseMs: 30_000, limit: 1 });
    expect(again).toMatchObject({ id: 'r1', hold: 'circuit:slack' });
    await store.queue.release({ runId: 'r1', owner: 'w' }, { availableAt: T0 + 6000, now: T0 + 5001 });
    expect((await store.read.run('r1'))?.hold).toBeUndefined();
  });

  it('a paused recipe\'s runs are neither claimed nor due; on resume they are claimed oldest first', async () => {
    const [store] = (await stores(1)).handles as [Store];
    expect(await store.flow.pause('notify', T0)).toBe(true);
    expect(await store.flow.pause('notify', T0)).toBe(false);
    for (const [i, id] of ['a', 'b', 'c'].entries()) await createRuns(store, [run(id)], T0 + i);
    await createRuns(store, [run('other', { recipe: 'other' })], T0 + 10);
    expect((await store.queue.claim({ owner: 'w', now: T0 + 100, leaseMs: 30_000, limit: 10 })).map((r) => r.id)).toEqual(['other']);
    expect(await store.queue.nextDue()).toBeUndefined();
    expect(await store.flow.paused()).toEqual([{ recipe: 'notify', pausedAt: T0, held: 3 }]);
    expect(await store.flow.resume('notify')).toBe(true);
    expect(await store.flow.resume('notify')).toBe(false);
    expect((await store.queue.claim({ owner: 'w', now: T0 + 100, leaseMs: 30_000, limit: 10 })).map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('rate: 40 reservations at once through two handles, never 3 slots within 1.1 s (2/s), in a run of distinct slots', async () => {
    const { handles } = await stores(2);
    const limit = { count: 2, periodMs: 1000, marginMs: 100 };
    const slots = await Promise.all(Array.from({ length: 40 }, (_, i) => handles[i % 2]!.flow.reserveRate('slack', limit, T0 + i)));
    expect(busiestWindow(slots, 1100)).toBe(2);
    expect(Math.max(...slots) - T0).toBeLessThan(20 * 1100);
  });

  it('circuit: opened through one handle, it holds the other\'s runs; one probe; its success makes the held runs due at once', async () => {
    const { handles } = await stores(2);
    const [a, b] = handles as [Store, Store];
    await a.flow.recordCall('slack', 'r0', 'failure', policy, T0);
    expect((await b.flow.recordCall('slack', 'r0', 'failure', policy, T0 + 1)).state).toBe('open');
    expect(await a.flow.enterCircuit('slack', 'r1', T0 + 5000, 15_000)).toEqual({ go: false, until: T0 + 10_001 });
    await createRuns(a, [run('r1')]);
    await a.queue.claim({ owner: 'w', now: T0 + 5000, leaseMs: 30_000, limit: 1 });
    await a.queue.hold({ runId: 'r1', owner: 'w' }, { reason: 'circuit:slack', availableAt: T0 + 25_000, now: T0 + 5000 });
    expect(await b.flow.enterCircuit('slack', 'probe', T0 + 10_001, 15_000)).toEqual({ go: true, probe: true });
    expect(await a.flow.enterCircuit('slack', 'r2', T0 + 10_002, 15_000)).toEqual({ go: false, until: T0 + 25_001 });
    expect((await a.flow.circuits())[0]).toMatchObject({ state: 'open', probeRun: 'probe' });
    expect((await b.flow.recordCall('slack', 'probe', 'ok', policy, T0 + 10_500)).state).toBe('closed');
    expect(await a.queue.nextDue()).toBe(T0 + 10_500);
    expect((await a.queue.claim({ owner: 'w', now: T0 + 10_500, leaseMs: 30_000, limit: 1 })).map((r) => r.id)).toEqual(['r1']);
    expect(await a.flow.enterCircuit('slack', 'r3', T0 + 10_600, 15_000)).toEqual({ go: true, probe: false });
  });
});
