// Flow control end to end (issue 14): a connection's rate holds steps in the queue, its circuit holds
// them while the destination is down (no attempt spent, no dead letter), and a paused recipe's runs
// are created and held, then run in their order on resume, across a restart. Real sockets, the
// Slack emulator, the real clock and the worker running, on both backends.
import { afterEach, describe, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { describeBackends, type Backend, type FreshStore } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';
import { busiestWindow } from './windows.ts';

const TOKEN = 'flow-admin-token-0123456789';

const slackRecipe = `on: muro/message.created\nsteps:\n  - id: post\n    slack: { text: "n={{ data.n }}" }\n`;

describeBackends('flow control', (backend: Backend) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** hookline with the worker running on a fresh store; `restart` starts it again on the same store and folder. */
  async function start(recipes: Record<string, string>, overrides: Record<string, unknown>) {
    const temp = tempDir('hookline-flow-');
    for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
    const db: FreshStore = await backend.fresh(temp.dir);
    const config = testConfig(temp.dir, { admin: { token: TOKEN }, ...overrides, store: { url: db.url } } as never);
    let hl: Hookline = await startHookline({ config });
    cleanups.push(async () => {
      await hl.close();
      await db.drop();
      temp.cleanup();
    });
    return {
      get hl() {
        return hl;
      },
      db,
      restart: async () => {
        await hl.close();
        hl = await startHookline({ config });
      },
    };
  }
  const admin = (hl: Hookline, method: string, path: string) => send(`${hl.url}/admin${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });

  it('rate 2/s: 30 Slack steps reach the emulator at most 2 in any second, every one delivered, no attempt spent', async () => {
    const slack: SlackEmulator = await startSlackEmulator();
    cleanups.push(() => slack.close());
    const { hl, db } = await start({ notify: slackRecipe }, { connections: { slack: { webhook_url: slack.webhookUrl, rate: '2/s' } }, retry: { schedule: [1000], jitter: 0 } });
    const t0 = Date.now();
    for (let n = 0; n < 30; n++) await postMuro(hl, { id: `evt_rate_${n}`, type: 'message.created', data: { n } });

    // Held runs are visible while they wait: in the metrics and on the runs.
    await expect.poll(async () => (await send(`${hl.url}/metrics`, { method: 'GET' })).text, { timeout: 5000 }).toMatch(/hookline_flow_held_runs\{connection="slack",reason="rate"\} [1-9]/);
    const held = await db.query<{ n: number }>(`SELECT count(*) AS n FROM runs WHERE hold = 'rate:slack'`);
    expect(Number(held[0]!.n)).toBeGreaterThan(0);

    await slack.waitFor(30, 40_000);
    const times = slack.requests.map((r) => r.time);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(2);
    // Not slower than the limit needs (30 at 2/s, with the 0.1 s kept in hand per slot pair: about 16 s).
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(new Set(slack.messages.map((m) => m.text)).size).toBe(30);
    const outcomes = async () => (await db.query<{ outcome: string; n: number }>(`SELECT outcome, count(*) AS n FROM attempts GROUP BY outcome`)).map((a) => [a.outcome, Number(a.n)]);
    await expect.poll(outcomes, { timeout: 5000 }).toEqual([['ok', 30]]);
    const counter = (await send(`${hl.url}/metrics`, { method: 'GET' })).text;
    expect(counter).toMatch(/hookline_flow_holds_total\{connection="slack",reason="rate"\} [1-9]/);
  }, 60_000);

  it('circuit: the destination down for 20 s with a 3-attempt schedule: no dead letter, every step delivered after recovery, attempts spent at most after + 1', async () => {
    const slack = await startSlackEmulator();
    cleanups.push(() => slack.close());
    const after = 3;
    const { hl, db } = await start(
      { notify: slackRecipe },
      {
        // One call at a time (calls in flight when the destination fails all fail: they are not held back).
        connections: { slack: { webhook_url: slack.webhookUrl, rate: '1/250ms', circuit: { after, cool_down: '12s' } } },
        retry: { schedule: [1000, 1000], jitter: 0 },
      },
    );
    slack.setDown(true); // 503
    const downAt = Date.now();
    for (let n = 0; n < 6; n++) await postMuro(hl, { id: `evt_down_${n}`, type: 'message.created', data: { n } });

    await expect.poll(async () => (await send(`${hl.url}/metrics`, { method: 'GET' })).text, { timeout: 10_000 }).toMatch(/hookline_circuit_open\{connection="slack"\} 1/);
    const flow = await admin(hl, 'GET', '/flow');
    expect(flow.json.circuits).toEqual([expect.objectContaining({ connection: 'slack', state: 'open' })]);
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + 20_000 - Date.now())));
    // Down for 20 s: the steps waited, none was dead-lettered.
    expect(await db.query(`SELECT id FROM runs WHERE status = 'dead'`)).toEqual([]);
    const failedWhileDown = slack.requests.length;
    slack.setDown(false);

    await slack.waitFor(6, 30_000);
    expect(new Set(slack.messages.map((m) => m.text)).size).toBe(6);
    await expect.poll(async () => (await db.query<{ status: string }>(`SELECT status FROM runs`)).map((r) => r.status).sort(), { timeout: 10_000 }).toEqual(Array(6).fill('done'));
    // The circuit opened after `after` failures; while open only a probe per cool-down went (one failed, in 20 s with 12 s cool-downs).
    expect(failedWhileDown).toBeLessThanOrEqual(after + 1);
    const failed = slack.requests.filter((r) => r.status !== 200).length;
    expect(failed).toBe(failedWhileDown);
    const attempts = await db.query<{ outcome: string }>(`SELECT outcome FROM attempts WHERE outcome <> 'ok'`);
    expect(attempts.length).toBe(failed);
    // No run spent its retries: run.dead never announced, and every run's attempt count is within the schedule.
    expect(await db.query(`SELECT seq FROM events WHERE source = 'hookline'`)).toEqual([]);
    const closed = await admin(hl, 'GET', '/flow');
    expect(closed.json.circuits).toEqual([expect.objectContaining({ connection: 'slack', state: 'closed', failures: 0 })]);
    expect((await send(`${hl.url}/metrics`, { method: 'GET' })).text).toMatch(/hookline_circuit_open\{connection="slack"\} 0/);
  }, 90_000);

  it('pause: runs are created and held across a restart, then run in their original order on resume', async () => {
    const dest: Destination = await startDestination();
    cleanups.push(() => dest.close());
    const app = await start(
      { deliver: `on: muro/message.created\nsteps:\n  - id: post\n    http: { url: "${dest.origin}/deliver", body: { n: "{{ data.n }}" } }\n` },
      { worker: { concurrency: 1 } },
    );
    expect((await admin(app.hl, 'POST', '/recipes/nope/pause')).status).toBe(404);
    expect((await send(`${app.hl.url}/admin/recipes/deliver/pause`, { method: 'POST' })).status).toBe(401);
    const paused = await admin(app.hl, 'POST', '/recipes/deliver/pause');
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ ok: true, recipe: 'deliver', paused: true, changed: true });
    expect((await admin(app.hl, 'POST', '/recipes/deliver/pause')).json).toMatchObject({ ok: true, changed: false });

    for (let n = 0; n < 5; n++) await postMuro(app.hl, { id: `evt_pause_${n}`, type: 'message.created', data: { n } });
    await expect.poll(async () => (await admin(app.hl, 'GET', '/recipes')).json.recipes[0], { timeout: 5000 }).toMatchObject({ name: 'deliver', paused: true, held_runs: 5 });
    await new Promise((r) => setTimeout(r, 1500)); // past a poll: nothing claims them
    expect(dest.requests).toHaveLength(0);

    await app.restart();
    await new Promise((r) => setTimeout(r, 1500));
    expect(dest.requests).toHaveLength(0);
    expect((await admin(app.hl, 'GET', '/flow')).json.paused).toEqual([expect.objectContaining({ recipe: 'deliver', held_runs: 5 })]);

    const resumed = await admin(app.hl, 'POST', '/recipes/deliver/resume');
    expect(resumed.json).toMatchObject({ ok: true, paused: false, changed: true });
    await dest.waitFor(5, 10_000);
    expect(dest.requests.map((r) => (r.body as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    expect((await admin(app.hl, 'POST', '/recipes/deliver/resume')).json).toMatchObject({ ok: true, changed: false });
    expect((await admin(app.hl, 'POST', '/recipes/nope/resume')).status).toBe(404);
  }, 60_000);
});

describe('busiestWindow', () => {
  it('counts the requests in the busiest window', () => {
    expect(busiestWindow([0, 500, 999, 1000, 1999], 1000)).toBe(3);
    expect(busiestWindow([0, 1000, 2000], 1000)).toBe(1);
  });
});
