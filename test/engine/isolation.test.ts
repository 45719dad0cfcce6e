import { afterEach, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startTestHookline } from '../helpers/server.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describeBackends('isolation', (backend) => {
  it('one slow destination does not stall the others (per-destination cap)', async () => {
    const slow: Destination = await startDestination();
    const fast: Destination = await startDestination();
    cleanups.push(() => fast.close());
    cleanups.push(async () => {
      slow.release();
      await slow.close();
    });
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    writeRecipe(temp.dir, 'slow', `on: muro/slow\nsteps: [ { id: s, http: { url: "${slow.origin}/s" } } ]\n`);
    writeRecipe(temp.dir, 'fast', `on: muro/fast\nsteps: [ { id: f, http: { url: "${fast.origin}/f" } } ]\n`);
    const hl = await startTestHookline({ dir: temp.dir, backend, overrides: { worker: { concurrency: 4, per_connection: 2, poll: 50 } } as never });
    cleanups.push(() => hl.stop());

    slow.hold(); // the slow destination answers nothing until released
    for (let i = 0; i < 6; i++) await postMuro(hl, { id: `evt_slow_${i}`, type: 'slow', data: {} });
    for (let i = 0; i < 6; i++) await postMuro(hl, { id: `evt_fast_${i}`, type: 'fast', data: {} });

    await fast.waitFor(6, 10_000);
    expect(slow.delivered).toHaveLength(0);
    // At most per_connection requests ever waited on the slow destination at once.
    expect(slow.requests.length).toBeLessThanOrEqual(2);

    slow.release();
    await slow.waitFor(6, 15_000);
    expect(new Set(slow.delivered.map((r) => r.headers['idempotency-key'])).size).toBe(6);
  });
});
