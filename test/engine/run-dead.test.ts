// hookline/run.dead: a run that goes to dead letters announces itself as an event of source
// `hookline`, stored in the same transaction as the run's end and dispatched to recipes like any
// other event. A run started by a hookline/* event never announces its own death.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startTestHookline, type TestHookline } from '../helpers/server.ts';

describeBackends('hookline/run.dead', (backend) => {
  const start = Date.parse('2026-11-20T09:00:00Z');
  let hl: TestHookline | undefined;
  let dest: Destination;

  beforeEach(async () => {
    dest = await startDestination();
  });
  afterEach(async () => {
    await hl?.stop();
    hl = undefined;
    await dest.close();
  });

  async function withRecipes(recipes: Record<string, string>) {
    const temp = tempDir();
    for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
    const started = await startTestHookline({ dir: temp.dir, backend, clock: manualClock(start), worker: false, overrides: { retry: { schedule: [30_000], jitter: 0 } } as never });
    hl = { ...started, stop: async () => { await started.stop(); temp.cleanup(); } };
    return hl;
  }
  const deadEvents = async () => (await hl!.store.read.events({ source: 'hookline', limit: 100 })).reverse();

  it('a dead run stores an event hookline/run.dead that recipes receive; the alert’s own death announces nothing', async () => {
    await withRecipes({
      deliver: `on: muro/message.created\nsteps:\n  - id: post\n    http: { url: "${dest.origin}/deliver" }\n`,
      // The alert fails too: its death must not announce another.
      alert: `on: "*/run.dead"\nsteps:\n  - id: page\n    http: { url: "${dest.origin}/alert", body: { run: "{{ data.run }}", step: "{{ data.step }}" } }\n`,
    });
    dest.failNext({ status: 400, body: { error: 'bad field' } }, { status: 400, body: { error: 'alert refused' } });
    await postMuro(hl!, { id: 'evt_doomed', type: 'message.created', data: { n: 1 } }, start);
    await hl!.worker.drain();

    const [deliver] = await hl!.store.read.runs({ recipe: 'deliver' });
    expect(deliver).toMatchObject({ status: 'dead' });
    const announced = await deadEvents();
    expect(announced).toHaveLength(1);
    const [notice] = await hl!.store.read.receipts(announced[0]!.eventId, 'hookline');
    expect(notice).toMatchObject({ source: 'hookline', type: 'run.dead', status: 'dispatched' });
    expect(notice!.eventId).toContain(deliver!.id);
    const body = JSON.parse(notice!.body);
    expect(body).toEqual({
      id: notice!.eventId,
      type: 'run.dead',
      created_at: expect.any(String),
      data: { run: deliver!.id, recipe: 'deliver', event: { source: 'muro', id: 'evt_doomed', type: 'message.created' }, step: 'post', error: expect.stringContaining('answered 400') },
    });

    // The alert recipe received it, and its own death stays silent.
    expect(dest.requests.map((r) => r.path)).toEqual(['/deliver', '/alert']);
    expect(dest.requests[1]!.body).toEqual({ run: deliver!.id, step: 'post' });
    const [alert] = await hl!.store.read.runs({ recipe: 'alert' });
    expect(alert).toMatchObject({ status: 'dead' });
    expect(await deadEvents()).toHaveLength(1);
  });

  it('a run that is dead at birth (its trigger’s if failed) is announced too, with no step', async () => {
    await withRecipes({ broken: `on: muro/*\nif: $number("x") > 1\nsteps: [ { id: a, log: hi } ]\n` });
    await postMuro(hl!, { id: 'evt_if', type: 'message.created', data: {} }, start);
    await hl!.worker.drain();
    const [run] = await hl!.store.read.runs({ recipe: 'broken' });
    expect(run).toMatchObject({ status: 'dead' });
    const [notice] = await deadEvents();
    expect(JSON.parse((await hl!.store.read.event(notice!.seq))!.body).data).toEqual({
      run: run!.id,
      recipe: 'broken',
      event: { source: 'muro', id: 'evt_if', type: 'message.created' },
      step: null,
      error: expect.stringContaining('if expression'),
    });
  });
});
