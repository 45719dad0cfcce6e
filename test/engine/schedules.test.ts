import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actionRegistry } from '../../src/actions/registry.ts';
import { compileRecipe } from '../../src/recipes/compile.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { shippedRecipes } from '../helpers/integration.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { startSlackEmulator } from '../emulators/slack.ts';

// 09:00 in Paris is 08:00 UTC in November.
const at = (iso: string) => Date.parse(iso);

describe('schedule in a recipe', () => {
  it('a bad cron or time zone is refused at file:line with the fix', () => {
    const bad = compileRecipe('/r/bad.yaml', 'on: { schedule: "0 25 * * *" }\nsteps: [ { id: a, log: hi } ]\n', actionRegistry());
    expect(bad.diagnostics[0]).toMatchObject({ line: 1, message: expect.stringMatching(/^on\.schedule: invalid cron expression "0 25 \* \* \*": .*hour.*expected five fields/) });
    const zone = compileRecipe('/r/zone.yaml', 'on:\n  schedule: "0 9 * * *"\n  timezone: Europe/Parris\nsteps: [ { id: a, log: hi } ]\n', actionRegistry());
    expect(zone.diagnostics[0]).toMatchObject({ line: 3, message: expect.stringMatching(/^on\.timezone: unknown time zone "Europe\/Parris"; expected an IANA name/) });
    const good = compileRecipe('/r/good.yaml', 'on: { schedule: "0 9 * * 1-5", timezone: Europe/Paris }\nsteps: [ { id: a, log: hi } ]\n', actionRegistry());
    expect(good.recipe!.schedule!.next(at('2026-11-20T08:00:00Z'))).toBe(at('2026-11-23T08:00:00Z')); // Friday → Monday
  });
});

describeBackends('schedules', (backend) => {
  let cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function setup(recipes: Record<string, string>) {
    const temp = tempDir();
    cleanups.push(() => temp.cleanup());
    const db = await backend.fresh(temp.dir);
    cleanups.push(() => db.drop());
    for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
    const clock = manualClock(at('2026-11-20T07:30:00Z'));
    const open = async (overrides: Record<string, unknown> = {}) => {
      const hl = await startHookline({ config: testConfig(temp.dir, { ...overrides, store: { url: db.url } } as never), clock, worker: false });
      let closed = false;
      cleanups.push(() => (closed ? undefined : hl.close()));
      return Object.assign(hl, { shut: async () => { closed = true; await hl.close(); } });
    };
    return { temp, db, clock, open };
  }

  const scheduleEvents = (db: FreshStore) => db.query<{ event_id: string; body: string }>(`SELECT event_id, body FROM events WHERE source = 'hookline' AND type = 'schedule' ORDER BY seq`);
  const runsOf = (hl: Hookline, recipe: string) => hl.store.read.runs({ recipe, limit: 100 });

  it('two instances fire each tick once; a restart after 3 missed ticks fires once; only that recipe runs', async () => {
    const { db, clock, open } = await setup({
      morning: 'on: { schedule: "0 9 * * *", timezone: Europe/Paris }\nsteps: [ { id: a, log: "tick {{ data.scheduled_at }} missed {{ data.missed }}" } ]\n',
      yearly: 'on: { schedule: "0 3 1 1 *" }\nsteps: [ { id: a, log: never } ]\n',
    });
    const a = await open();
    const b = await open();
    const both = () => Promise.all([a.worker.drain(), b.worker.drain()]);
    await both();
    expect(await scheduleEvents(db)).toEqual([]); // first sight: the next tick is the first

    clock.set(at('2026-11-20T08:00:00Z'));
    await both();
    await both();
    clock.set(at('2026-11-21T08:00:05Z'));
    await both();
    const fired = await scheduleEvents(db);
    expect(fired.map((e) => e.event_id)).toEqual(['schedule:morning:2026-11-20T08:00:00.000Z', 'schedule:morning:2026-11-21T08:00:00.000Z']);
    expect(JSON.parse(fired[0]!.body).data).toMatchObject({ recipe: 'morning', scheduled_at: '2026-11-20T08:00:00.000Z', schedule: '0 9 * * *', timezone: 'Europe/Paris', missed: 0 });
    expect((await runsOf(a, 'morning')).map((r) => r.status)).toEqual(['done', 'done']);
    expect(await runsOf(a, 'yearly')).toEqual([]);

    // Every instance down over three ticks (22nd, 23rd, 24th): one event on start, naming the two skipped.
    await a.shut();
    await b.shut();
    clock.set(at('2026-11-24T10:00:00Z'));
    const c = await open();
    await c.worker.drain();
    await c.worker.drain();
    const after = await scheduleEvents(db);
    expect(after).toHaveLength(3);
    expect(JSON.parse(after[2]!.body).data).toMatchObject({ scheduled_at: '2026-11-24T08:00:00.000Z', missed: 2 });
    const runs = await runsOf(c, 'morning');
    expect(runs).toHaveLength(3);
    const latest = await c.store.read.run(runs[0]!.id);
    expect(latest!.steps[0]!.output).toEqual({ logged: 'tick 2026-11-24T08:00:00.000Z missed 2' });
  });

  it('the shipped daily digest posts open tickets and dead runs to Slack on its tick', async () => {
    const slack = await startSlackEmulator();
    cleanups.push(() => slack.close());
    const { temp, clock, open } = await setup({
      broken: 'on: muro/*\nsteps: [ { id: call, http: { url: "http://127.0.0.1:9/none" } } ]\n',
    });
    const digest = join(temp.dir, 'recipes', 'daily-digest.yaml');
    copyFileSync(join(shippedRecipes, 'daily-digest.yaml'), digest);
    writeFileSync(digest, readFileSync(digest, 'utf8').replace('enabled: false', 'enabled: true'));
    clock.set(at('2026-11-20T08:30:00Z')); // after Friday's tick: the first is Monday's
    const hl = await open({ connections: { slack: { webhook_url: slack.webhookUrl } }, retry: { schedule: [], jitter: 0 } });
    await hl.worker.drain();
    const { record } = hl.store.records.tickets;
    const newTicket = (n: number, from: string, subject: string, when: number) =>
      record({ idempotencyKey: `t${n}`, eventSeq: n, receivedAt: when, from, recipients: [], subject, text: 'x', replyTo: [], attachments: [] }, when, () => ({ ticketId: undefined, threading: 'new' }));
    await newTicket(1, 'dana@bigcustomer.example', 'Invoice missing', at('2026-11-18T10:00:00Z'));
    await newTicket(2, 'sam@example.com', 'Cannot log in', at('2026-11-19T10:00:00Z'));
    // A run that goes dead over the weekend.
    clock.set(at('2026-11-22T12:00:00Z'));
    const { postMuro } = await import('../helpers/recipes.ts');
    await postMuro(hl, { id: 'evt_w', type: 'x', data: {} }, clock.now());
    await hl.worker.drain();
    expect((await hl.store.read.runs({ recipe: 'broken', limit: 5 }))[0]!.status).toBe('dead');
    expect(slack.messages).toEqual([]);

    clock.set(at('2026-11-23T08:00:00Z')); // Monday 09:00 in Paris
    await hl.worker.drain();
    expect(slack.messages).toHaveLength(1);
    const text = slack.messages[0]!.text!;
    expect(text).toMatch(/^:newspaper: \*hookline digest\* for 2026-11-23: 2 open tickets, 1 dead run since 2026-11-20T08:00:00.000Z\./);
    expect(text).toContain('Oldest open: T-1 Invoice missing (dana@bigcustomer.example); T-2 Cannot log in (sam@example.com).');
    expect(text).toMatch(/Dead: broken r\w+ — `hookline dead --retry-all --since 1d`\./);
    await hl.worker.drain();
    expect(slack.messages).toHaveLength(1);
  });
});
