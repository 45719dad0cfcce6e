import { afterEach, expect, it } from 'vitest';
import { runJson } from '../../src/admin/operations.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';

// A run keeps the recipe version it started with when the file changes mid-run, even across a
// restart: the new process has only the new file, and finds the old steps in recipe_versions.
describeBackends('recipe versions', (backend) => {
  let cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  it('a run changed mid-wait finishes with its original steps, after a restart; new runs use the new version', async () => {
    const dest: Destination = await startDestination();
    cleanups.push(() => dest.close());
    const temp = tempDir();
    cleanups.push(() => temp.cleanup());
    const db = await backend.fresh(temp.dir);
    cleanups.push(() => db.drop());
    const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
    const config = testConfig(temp.dir, { store: { url: db.url } });
    const open = async () => {
      const hl = await startHookline({ config, clock, worker: false });
      let closed = false;
      cleanups.push(() => (closed ? undefined : hl.close()));
      return { hl, close: async () => { closed = true; await hl.close(); } };
    };
    const v1 = `on: muro/*\nsteps:\n  - id: first\n    http: { url: "${dest.origin}/v1/first" }\n  - id: pause\n    wait_for: { event: muro/never, timeout: 1m }\n  - id: second\n    http: { url: "${dest.origin}/v1/second" }\n`;
    const v2 = `on: muro/*\nsteps:\n  - id: first\n    http: { url: "${dest.origin}/v2/first" }\n  - id: pause\n    wait_for: { event: muro/never, timeout: 1m }\n  - id: renamed\n    http: { url: "${dest.origin}/v2/renamed" }\n`;
    writeRecipe(temp.dir, 'flow', v1);

    const a = await open();
    await postMuro(a.hl, { id: 'evt_old', type: 'x', data: {} }, clock.now());
    await a.hl.worker.drain();
    const [started] = await a.hl.store.read.runs({ limit: 10 });
    expect(started).toMatchObject({ status: 'waiting' });
    const v1Hash = a.hl.recipes().recipes.get('flow')!.hash;
    expect(started!.recipeVersion).toBe(v1Hash);

    // The file changes while the run waits: the second step is renamed; the process restarts.
    writeRecipe(temp.dir, 'flow', v2);
    await a.close();
    const b = await open();
    const v2Hash = b.hl.recipes().recipes.get('flow')!.hash;
    expect(v2Hash).not.toBe(v1Hash);
    clock.advance(60_000);
    await b.hl.worker.drain();

    const old = await b.hl.store.read.run(started!.id);
    expect(old).toMatchObject({ status: 'done', recipeVersion: v1Hash });
    expect(old!.steps.map((s) => s.stepId)).toEqual(['first', 'pause', 'second']);
    expect(runJson(old!)).toMatchObject({ recipe_version: v1Hash });

    await postMuro(b.hl, { id: 'evt_new', type: 'x', data: {} }, clock.now());
    await b.hl.worker.drain();
    clock.advance(60_000);
    await b.hl.worker.drain();
    const runs = await b.hl.store.read.runs({ limit: 10 });
    const fresh = runs.find((r) => r.id !== started!.id)!;
    expect(fresh).toMatchObject({ status: 'done', recipeVersion: v2Hash });
    expect(dest.requests.map((r) => r.path)).toEqual(['/v1/first', '/v1/second', '/v2/first', '/v2/renamed']);
  });

  it('a wait answered by an event is matched with the step of the run’s own version', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.cleanup());
    const db = await backend.fresh(temp.dir);
    cleanups.push(() => db.drop());
    const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
    const config = testConfig(temp.dir, { store: { url: db.url } });
    writeRecipe(temp.dir, 'flow', `on: muro/start\nsteps:\n  - id: reply\n    wait_for: { event: muro/reply, timeout: 1h }\n  - id: after\n    log: "answered {{ $steps.reply.timed_out }}"\n`);
    const hl = await startHookline({ config, clock, worker: false });
    cleanups.push(() => hl.close());
    await postMuro(hl, { id: 'evt_start', type: 'start', data: {} }, clock.now());
    await hl.worker.drain();
    // The new version waits for another step id: the old run's wait must still be answered.
    writeRecipe(temp.dir, 'flow', `on: muro/start\nsteps:\n  - id: other\n    wait_for: { event: muro/other, timeout: 1h }\n  - id: after\n    log: "x"\n`);
    hl.reloadRecipes();
    await postMuro(hl, { id: 'evt_reply', type: 'reply', data: {} }, clock.now());
    await hl.worker.drain();
    const [run] = await hl.store.read.runs({ recipe: 'flow', limit: 10 });
    const detail = await hl.store.read.run(run!.id);
    expect(detail).toMatchObject({ status: 'done' });
    expect(detail!.steps.find((s) => s.stepId === 'after')!.output).toEqual({ logged: 'answered false' });
  });
});
