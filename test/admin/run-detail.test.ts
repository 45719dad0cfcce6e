import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { bin, writeChildConfig } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';

// What a run did, step by step, as the admin API, `hookline show` and the console's event page show it:
// a step that failed shows failed (not "not reached") with its attempts numbered on across retries
// and dead-letter retries; a step skipped because its connection is not configured shows why.

const run = promisify(execFile);
const TOKEN = 'run-detail-token';
const retries = 3; // a schedule of 3 delays: 4 attempts, then dead letters

describeBackends('a run’s steps and attempts, in the admin API, the CLI and the console', (backend) => {
  let hl: Hookline;
  let dest: Destination;
  let db: FreshStore;
  let temp: ReturnType<typeof tempDir>;
  const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
  const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => send(`${hl.url}${path}`, { method: 'GET', headers });
  const cli = async (...args: string[]) => (await run(process.execPath, [bin, ...args], { cwd: temp.dir })).stdout;
  let cookie: string;

  /**
   * Works the run until it is dead, moving the clock past each retry delay. On PostgreSQL an event
   * is dispatched only once no older transaction of the server is open (other test files share it),
   * so a drain may find nothing to do yet: then wait a moment and drain again.
   */
  async function untilDead() {
    const deadline = Date.now() + 15_000;
    for (;;) {
      await hl.worker.drain();
      if ((await hl.store.read.runs({ status: 'dead' })).length > 0) return;
      if (Date.now() > deadline) throw new Error('the run never reached dead letters');
      if ((await hl.store.read.runs({ status: 'retrying' })).length > 0) clock.advance(1_000);
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    temp = tempDir();
    dest = await startDestination();
    db = await backend.fresh(temp.dir);
    writeRecipe(temp.dir, 'flaky', `on: muro/order.paid\nsteps:\n  - id: call\n    http: { url: "${dest.origin}/x" }\n  - id: after\n    log: done\n`);
    writeRecipe(temp.dir, 'notify', 'on: muro/order.paid\nsteps:\n  - id: post\n    slack: { text: "paid" }\n');
    writeChildConfig(temp.dir, '', db.url);
    const config = testConfig(temp.dir, { store: { url: db.url }, admin: { token: TOKEN }, retry: { schedule: Array(retries).fill(1_000), jitter: 0, timeout: 2_000 } } as never);
    hl = await startHookline({ config, clock, worker: false });

    dest.failNext(...Array(2 * (retries + 1)).fill(500));
    await postMuro(hl, { id: 'evt_paid', type: 'order.paid', data: {} }, clock.now());
    await untilDead();
    const [dead] = await hl.store.read.runs({ status: 'dead' });
    // Retried from dead letters, it fails four more times.
    expect(await hl.store.operations.retryRun(dead!.id, clock.now())).toBe('retried');
    await untilDead();

    const signedIn = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
  });
  afterAll(async () => {
    await hl.close();
    await dest.close();
    await db.drop();
    temp.cleanup();
  });

  const runOf = async (recipe: string) => {
    const detail = (await get('/admin/events/evt_paid')).json;
    return detail.runs.find((r: { recipe: string }) => r.recipe === recipe);
  };

  it('admin API: the failed step is failed, with its eight attempts numbered 1 to 8', async () => {
    expect(dest.requests).toHaveLength(8);
    const flaky = await runOf('flaky');
    expect(flaky.status).toBe('dead');
    expect(flaky.steps).toEqual([
      expect.objectContaining({ id: 'call', status: 'failed', attempt_count: 8, reason: expect.stringMatching(/answered 500/) }),
    ]);
    expect(flaky.attempts.map((a: { attempt: number; outcome: string }) => `${a.attempt}:${a.outcome}`)).toEqual([
      '1:retry', '2:retry', '3:retry', '4:failed', '5:retry', '6:retry', '7:retry', '8:failed',
    ]);
    // The same through /admin/runs/:id.
    expect((await get(`/admin/runs/${flaky.id}`)).json).toMatchObject({ steps: flaky.steps, attempts: flaky.attempts });
  });

  it('admin API: a step skipped for want of a connection says so', async () => {
    const notify = await runOf('notify');
    expect(notify.status).toBe('done');
    expect(notify.steps).toEqual([expect.objectContaining({ id: 'post', status: 'skipped', reason: 'slack not configured', attempt_count: 1 })]);
  });

  it('hookline show: failed with the attempts numbered on; skipped with the reason', async () => {
    const shown = await cli('show', 'evt_paid');
    expect(shown).toMatch(/step call: failed after 8 attempts — .*answered 500/);
    expect(shown).not.toMatch(/step after/); // never reached: nothing recorded, nothing claimed
    expect(shown).toMatch(/attempt 8 of call: failed \(500\)/);
    expect(shown.match(/attempt 1 of call/g)).toHaveLength(1);
    expect(shown).toMatch(/run \S+\s+notify\s+done — step post skipped: slack not configured/);
    expect(shown).toMatch(/step post: skipped — slack not configured/);
    expect(JSON.parse(await cli('show', 'evt_paid', '--json')).runs.find((r: { recipe: string }) => r.recipe === 'flaky').steps[0].status).toBe('failed');
  });

  it('console: the failed step is failed above its attempts 1 to 8; the next step was not reached; the skip shows its reason', async () => {
    const page = (await get('/console/events/evt_paid', { cookie })).text;
    const flaky = page.slice(page.indexOf('data-recipe="flaky"'), page.indexOf('</section>', page.indexOf('data-recipe="flaky"')));
    const rows = [...flaky.matchAll(/<tr data-step="(\w+)"[^>]*>([\s\S]*?)<\/tr>/g)].map(([, id, row]) => `${id}: ${row!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()}`);
    expect(rows[0]).toMatch(/^call: call http failed 8 attempts .*answered 500/);
    expect(rows[1]).toBe('after: after log not reached');
    const numbers = [...flaky.matchAll(/<tr class="attempt[^"]*"><td>call<\/td><td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]));
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    const notify = page.slice(page.indexOf('data-recipe="notify"'), page.indexOf('</section>', page.indexOf('data-recipe="notify"')));
    expect(notify.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')).toMatch(/post slack skipped slack not configured/);
    expect(notify).toContain('<span class="tag warn">step post skipped: slack not configured</span>');
  });
});

describe('numbering attempts (unit)', () => {
  it('numbers each step’s attempts in the order they were made, whatever the stored cycle number', async () => {
    const { stepsOf } = await import('../../src/admin/run-view.ts');
    const at = (stepId: string, attempt: number, outcome: 'retry' | 'failed' | 'ok') => ({ runId: 'r', stepId, attempt, startedAt: 0, durationMs: 1, outcome, error: outcome === 'ok' ? undefined : `boom ${attempt}` });
    const view = stepsOf({
      status: 'retrying',
      error: 'x',
      steps: [{ runId: 'r', stepId: 'a', status: 'done', output: {}, startedAt: 0, finishedAt: 1 }],
      attempts: [at('a', 1, 'retry'), at('a', 2, 'ok'), at('b', 1, 'failed'), at('b', 1, 'retry')],
    } as never);
    expect(view.steps.map((s) => [s.id, s.status, s.attempts.map((a) => a.attempt)])).toEqual([
      ['a', 'done', [1, 2]],
      ['b', 'retrying', [1, 2]],
    ]);
    expect(view.steps[1]!.reason).toBe('boom 1');
  });
});
