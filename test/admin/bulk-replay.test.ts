import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends, type Backend } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';

const TOKEN = 'admin-test-token';

/** A digest of every row of every table: equal before and after means nothing was written. */
async function storeDigest(hl: TestHookline, backend: Backend): Promise<string> {
  const tables =
    backend.name === 'sqlite'
      ? (await hl.db.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)).map((t) => t.name)
      : (await hl.db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)).map((t) => t.name);
  const hash = createHash('sha256');
  for (const table of tables) {
    const rows = await hl.db.query(`SELECT * FROM "${table}"`);
    const lines = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).sort();
    hash.update(`${table}:${lines.length}\n${lines.join('\n')}\n`);
  }
  return `${tables.length} tables ${hash.digest('hex')}`;
}

describeBackends('bulk replay, retry and dry run', (backend) => {
  const start = Date.parse('2026-11-20T09:00:00Z');
  let clock: ReturnType<typeof manualClock>;
  let hl: TestHookline;
  let slack: SlackEmulator;
  let temp: ReturnType<typeof tempDir>;

  beforeEach(async () => {
    slack = await startSlackEmulator();
    temp = tempDir();
    clock = manualClock(start);
    writeRecipe(temp.dir, 'notify', `on: muro/conversation.*\nsteps:\n  - id: tell\n    slack: { text: "opened by {{ data.visitor.name }}" }\n`);
    hl = await startTestHookline({
      dir: temp.dir,
      backend,
      clock,
      worker: false,
      // rate: off: three messages at one instant of the test's clock (Slack's default 1/s is tested in test/flow).
      overrides: { admin: { token: TOKEN }, connections: { slack: { webhook_url: slack.webhookUrl, rate: 'off' } } } as never,
    });
  });
  afterEach(async () => {
    await hl.stop();
    temp.cleanup();
    await slack.close();
  });

  const admin = (path: string, body: unknown) =>
    send(`${hl.url}${path}`, { body: JSON.stringify(body), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });

  async function threeEvents() {
    await postMuro(hl, { id: 'evt_1', type: 'conversation.opened', data: { visitor: { name: 'Ana' } } }, clock.now());
    await postMuro(hl, { id: 'evt_2', type: 'conversation.closed', data: { visitor: { name: 'Bo' } } }, clock.now());
    clock.advance(3 * 3600_000);
    await postMuro(hl, { id: 'evt_3', type: 'conversation.opened', data: { visitor: { name: 'Cy' } } }, clock.now());
    await hl.worker.drain();
    // Runs of different events go concurrently: the order they reach Slack is not theirs to keep.
    expect(slack.messages.map((m) => m.text).sort()).toEqual(['opened by Ana', 'opened by Bo', 'opened by Cy']);
  }

  it('a dry run evaluates the changed recipe against stored events, prints what each step would send, and changes nothing', async () => {
    await threeEvents();
    // The operator's change, not live yet in the worker's eyes: it is what the dry run evaluates.
    writeRecipe(
      temp.dir,
      'notify',
      `on: muro/conversation.*\nif: type = "conversation.opened"\nsteps:\n  - id: tell\n    slack: { text: "NEW {{ data.visitor.name }}" }\n  - id: later\n    if: data.visitor.name = "Nobody"\n    log: never\n`,
    );
    hl.reloadRecipes();
    const before = await storeDigest(hl, backend);
    const requestsBefore = slack.requests.length;

    const answer = await admin('/admin/replay', { since: '2026-11-20T08:00:00Z', dry_run: true });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ ok: true, dry_run: true, matched: 3, would_start: 2 });
    const [first, second, third] = answer.json.events;
    expect(first).toMatchObject({ id: 'evt_1', if_false: [], recipes: [{ recipe: 'notify', steps: [{ id: 'tell', action: 'slack', outcome: 'would_send' }, { id: 'later', outcome: 'skipped', reason: 'if was false' }] }] });
    // The preview names where it would post with the webhook's secret redacted, and the text it would send.
    expect(JSON.stringify(first.recipes[0].steps[0].sends)).toContain('NEW Ana');
    expect(JSON.stringify(answer.json)).not.toContain(slack.webhookUrl.split('/').at(-1));
    expect(second).toMatchObject({ id: 'evt_2', recipes: [], if_false: ['notify'] });
    expect(third).toMatchObject({ id: 'evt_3', recipes: [{ recipe: 'notify' }] });

    expect(await storeDigest(hl, backend)).toBe(before);
    await hl.worker.drain();
    expect(slack.requests.length).toBe(requestsBefore);
  });

  it('replays what a filter selects once; a second replay skips them and says so until --again', async () => {
    await threeEvents();
    const filter = { since: '2026-11-20T08:00:00Z', until: '2026-11-20T10:00:00Z', type: 'conversation.*' };
    const first = await admin('/admin/replay', filter);
    expect(first.json).toMatchObject({ ok: true, matched: 2, done: 2, skipped_already: 0 });
    expect(first.json.items.map((i: { id: string; outcome: string }) => [i.id, i.outcome])).toEqual([['evt_1', 'replayed'], ['evt_2', 'replayed']]);
    await hl.worker.drain();
    expect(slack.messages.map((m) => m.text).slice(3).sort()).toEqual(['opened by Ana', 'opened by Bo']);

    const twice = await admin('/admin/replay', filter);
    expect(twice.json).toMatchObject({ matched: 2, done: 0, skipped_already: 2, operation: null });
    expect(twice.json.items[0]).toMatchObject({ outcome: 'already_done', by: first.json.operation });
    await hl.worker.drain();
    expect(slack.messages).toHaveLength(5);

    clock.advance(1000);
    const again = await admin('/admin/replay', { ...filter, again: true });
    expect(again.json).toMatchObject({ done: 2, skipped_already: 0 });
    await hl.worker.drain();
    expect(slack.messages).toHaveLength(7);

    const ops = await send(`${hl.url}/admin/bulk-operations`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ops.json.operations.map((o: { kind: string; done: number; again: boolean }) => [o.kind, o.done, o.again])).toEqual([['replay', 2, true], ['replay', 2, false]]);
    expect(ops.json.operations[1].filter).toEqual({ since: '2026-11-20T08:00:00.000Z', until: '2026-11-20T10:00:00.000Z', type: 'conversation.*' });
  });

  it('retries the dead runs a filter selects, once', async () => {
    slack.failNext(400, 400);
    await postMuro(hl, { id: 'evt_a', type: 'conversation.opened', data: { visitor: { name: 'A' } } }, clock.now());
    await postMuro(hl, { id: 'evt_b', type: 'conversation.opened', data: { visitor: { name: 'B' } } }, clock.now());
    await hl.worker.drain();
    expect((await hl.store.read.runs({ status: 'dead', limit: 10 })).length).toBe(2);
    const retried = await admin('/admin/runs/retry', { recipe: 'notify', since: '1h' });
    expect(retried.json).toMatchObject({ ok: true, matched: 2, done: 2 });
    await hl.worker.drain();
    expect(slack.messages.map((m) => m.text).sort()).toEqual(['opened by A', 'opened by B']);
    expect((await admin('/admin/runs/retry', { recipe: 'notify' })).json).toMatchObject({ matched: 0, done: 0 });
  });

  it('refuses bad filters with a clear 400', async () => {
    expect((await admin('/admin/replay', {})).json.error).toMatch(/at least one filter/);
    expect((await admin('/admin/replay', { since: 'yesterday' })).json.error).toMatch(/since: "yesterday" is neither an ISO time/);
    expect((await admin('/admin/replay', { since: '1h', status: 'weird' })).status).toBe(400);
    expect((await admin('/admin/runs/retry', { status: 'done' })).json.error).toMatch(/only dead runs/);
    expect((await admin('/admin/replay', { since: '1h', until: '2h' })).json.error).toMatch(/since must be before until/);
  });
});
