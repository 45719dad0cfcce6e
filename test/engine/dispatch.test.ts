// Dispatch against hostile event data, on both backends: values taken from events (conversation
// and message ids, recipe keys) of any length or byte sequence the receiver accepts are stored and
// looked up exactly, and an event whose dispatch fails is set aside without stopping the others.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { indexKey } from '../../src/store/index-key.ts';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends, type Backend } from '../helpers/backends.ts';
import { bin } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MURO_SECRET, tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';
import { writeSwitch } from '../helpers/unwritable.ts';

const ADMIN = 'admin-token-dispatch';
const execCli = promisify(execFile);

/** The `hookline` command on the store of a running test instance; its stdout. */
async function hooklineCli(storeUrl: string, dir: string, args: string[]): Promise<string> {
  const config = join(dir, 'cli.yaml');
  writeFileSync(config, `store: { url: ${JSON.stringify(storeUrl)} }\nrecipes: ${JSON.stringify(join(dir, 'recipes'))}\ndata_dir: ${JSON.stringify(dir)}\nlog: { level: silent }\n`);
  return (await execCli(process.execPath, [bin, ...args, '--config', config], { cwd: dir })).stdout;
}

describeBackends('dispatch', (backend) => {
  const start = Date.parse('2026-11-20T09:00:00Z');
  let clock: ReturnType<typeof manualClock>;
  let hl: TestHookline | undefined;
  let dest: Destination | undefined;

  afterEach(async () => {
    await hl?.stop();
    await dest?.close();
    hl = undefined;
    dest = undefined;
  });

  /** hookline with the worker stopped (the test drives it) and these recipes. */
  async function withRecipes(recipes: Record<string, string>, on: Backend = backend) {
    clock = manualClock(start);
    const temp = tempDir();
    for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
    const overrides = { retry: { schedule: [30_000], jitter: 0 }, admin: { token: ADMIN } };
    const started = await startTestHookline({ dir: temp.dir, backend: on, clock, worker: false, overrides: overrides as never });
    hl = { ...started, stop: async () => { await started.stop(); temp.cleanup(); } };
    return hl;
  }

  /** SQL behind hookline's back (a test's stand-in for a defect), on either backend. */
  async function behindItsBack(sql: { sqlite: string; postgres: string }) {
    if (backend.name === 'postgres') return void (await hl!.db.query(sql.postgres));
    const db = new Database(hl!.db.url.slice('sqlite:'.length));
    try {
      db.exec(sql.sqlite);
    } finally {
      db.close();
    }
  }

  /**
   * Drains until no event waits for its first dispatch. On PostgreSQL dispatch waits for every older
   * transaction on the server to end (see store/postgres/dispatch.ts): another test's may hold it back.
   */
  async function settle() {
    await expect
      .poll(async () => {
        await hl!.worker.drain();
        return (await hl!.store.read.backlog()).oldestPending;
      }, { timeout: 10_000, interval: 50 })
      .toBeUndefined();
  }

  const adminApi = async (path: string, method = 'GET') => {
    const answer = await send(`${hl!.url}/admin${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    return answer.json as any;
  };
  const statusOf = async (eventId: string) => (await hl!.store.read.receipts(eventId))[0]!;
  /** The event ids the `send` recipe delivered. */
  const delivered = () => dest!.requests.filter((r) => r.path === '/t').map((r) => (r.body as { event: string }).event);
  const sendTo = (origin: string) => `on: muro/message.created\nsteps:\n  - id: send\n    http: { url: "${origin}/t", body: { event: "{{ id }}" } }\n`;

  let n = 0;
  const messageIn = (conversation: string, messageId = `msg_${++n}`) => ({
    id: `evt_${process.pid}_${++n}`,
    type: 'message.created',
    data: { conversation: { id: conversation }, message: { id: messageId, author: { type: 'visitor' }, text: 'hi' } },
  });

  describe('values from event data in indexes', () => {
    it('stores and finds conversations, messages and keys of any length or bytes, and dispatch goes on', async () => {
      dest = await startDestination();
      await withRecipes({
        // The transcript as each run sees it when it runs (after the whole batch), by event id.
        count: `on: muro/message.created\nsteps:\n  - id: send\n    http: { url: "${dest.origin}/t", body: { event: "{{ id }}", n: "{{ $count($conversation.messages) }}" } }\n`,
        // One live run per conversation: the key is held while the run waits.
        keyed: `on: muro/message.created\nkey: data.conversation.id\nsteps:\n  - id: wait\n    wait_for: { event: muro/conversation.closed, timeout: 1h }\n`,
      });
      const long = 'c'.repeat(10_000);
      const conversations = {
        long,
        // Same first 9 999 characters: a prefix of the value must not decide identity.
        longSibling: `${'c'.repeat(9_999)}d`,
        nul: 'x\u0000y',
        replacement: 'x\uFFFDy',
        loneSurrogate: 'x\uD800y',
        megabyte: 'm'.repeat(1 << 20),
      };
      const events = {
        first: messageIn(long, 'm'.repeat(10_000)),
        second: messageIn(long, `${'m'.repeat(9_999)}n`),
        again: messageIn(long, 'm'.repeat(10_000)), // the first message, delivered again
        ...Object.fromEntries(Object.entries(conversations).filter(([k]) => k !== 'long').map(([k, id]) => [k, messageIn(id, `msg_${k}`)])),
        ok: messageIn('conv_ok'),
      };
      for (const event of Object.values(events)) await postMuro(hl!, event, clock.now());
      await settle();

      const seen = Object.fromEntries(dest.requests.map((r) => [(r.body as { event: string }).event, (r.body as { n: number }).n]));
      expect(Object.fromEntries(Object.entries(events).map(([k, e]) => [k, seen[e.id]]))).toEqual({
        first: 2,
        second: 2,
        again: 2,
        longSibling: 1,
        nul: 1,
        replacement: 1,
        loneSurrogate: 1,
        megabyte: 1,
        ok: 1,
      });
      for (const e of await hl!.store.read.events({ limit: 100 })) expect(e.status).toBe('dispatched');
      // keyed: the second and third events of the long conversation find its key held.
      const keyed = await hl!.store.read.runs({ recipe: 'keyed', limit: 100 });
      expect(keyed.map((r) => r.status).sort()).toEqual([...Array(7).fill('waiting'), 'skipped', 'skipped'].sort());
      // The transcript of a conversation is found by its exact id.
      expect(await hl!.store.records.conversations.transcript(indexKey(long))).toHaveLength(2);
    });
  });

  describe('an event whose dispatch fails', () => {
    it('is set aside with its error, the events around it are dispatched, and a replay after the fix dispatches it', async () => {
      dest = await startDestination();
      await withRecipes({ send: sendTo(dest.origin) });
      // The defect: the database refuses this one event's transcript message.
      await behindItsBack({
        sqlite: `CREATE TRIGGER refuse_poison BEFORE INSERT ON transcript_messages WHEN NEW.message LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
        postgres: `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
          CREATE TRIGGER refuse_poison BEFORE INSERT ON transcript_messages FOR EACH ROW WHEN (NEW.message LIKE '%poison%') EXECUTE FUNCTION refuse_poison()`,
      });
      const before = messageIn('conv_a');
      const poison = { ...messageIn('conv_b'), data: { conversation: { id: 'conv_b' }, message: { id: 'm_poison', text: 'poison' } } };
      const after = messageIn('conv_a');
      for (const e of [before, poison, after]) await postMuro(hl!, e, clock.now());
      await settle();

      expect(delivered().sort()).toEqual([before.id, after.id].sort());
      expect((await statusOf(before.id)).status).toBe('dispatched');
      expect((await statusOf(after.id)).status).toBe('dispatched');
      const failed = await statusOf(poison.id);
      expect(failed).toMatchObject({ status: 'failed', generation: 0 });
      expect(failed.dispatchError).toMatch(/^committing its dispatch failed: .*refused by the test/);
      expect(await hl!.store.read.runsOfEvent(failed.seq)).toEqual([]);

      // Visible to the operator: admin API, metrics.
      expect((await adminApi(`/events/${poison.id}`)).event).toMatchObject({ status: 'failed', dispatch_error: failed.dispatchError });
      expect((await adminApi('/events')).events.find((e: any) => e.id === poison.id)).toMatchObject({ status: 'failed', dispatch_error: failed.dispatchError });
      const metrics = (await send(`${hl!.url}/metrics`, { method: 'GET' })).text;
      expect(metrics).toMatch(/hookline_events_dispatch_failed_total\{source="muro"\} 1\b/);
      expect(metrics).toMatch(/hookline_events_set_aside 1\b/);

      // … the console …
      const login = await send(`${hl!.url}/console/login`, { body: `token=${ADMIN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      const page = (path: string) => send(`${hl!.url}/console${path}`, { method: 'GET', headers: { cookie } }).then((a) => a.text);
      expect(await page('/events?outcome=failed')).toContain(`data-event="${poison.id}" data-outcome="failed"`);
      const detail = await page(`/events/${poison.id}`);
      expect(detail).toContain('data-outcome="failed"');
      expect(detail).toMatch(/Dispatch failed:<\/strong> committing its dispatch failed: .*refused by the test/);
      // … and the command line.
      const cli = (...args: string[]) => hooklineCli(hl!.db.url, hl!.dir, args);
      expect(await cli('events')).toMatch(new RegExp(`${poison.id}\\s+failed[\\s\\S]*1 set aside \\(failed\\)`));
      expect(await cli('show', poison.id)).toMatch(/ failed\nset aside: committing its dispatch failed: .*refused by the test.*\n  fix the cause, then: hookline replay /);

      // The fix, then a replay: dispatched as its first dispatch (same generation).
      await behindItsBack({ sqlite: 'DROP TRIGGER refuse_poison', postgres: 'DROP TRIGGER refuse_poison ON transcript_messages' });
      expect(await cli('replay', poison.id)).toMatch(/^dispatching .* again/);
      await settle();
      expect(await statusOf(poison.id)).toMatchObject({ status: 'dispatched', generation: 0, dispatchError: null });
      expect(delivered()).toContain(poison.id);
      expect((await hl!.store.records.conversations.transcript('conv_b')).map((m) => m.messageId)).toEqual(['m_poison']);
      expect((await send(`${hl!.url}/metrics`, { method: 'GET' })).text).toMatch(/hookline_events_set_aside 0\b/);
    });

    it('that it cannot plan or that hookline cannot store is set aside; the others of its batch are dispatched', async () => {
      dest = await startDestination();
      await withRecipes({
        send: sendTo(dest.origin),
        waiter: `on: muro/conversation.opened\nsteps:\n  - id: reply\n    wait_for: { event: muro/message.created, timeout: 1h }\n  - id: tell\n    http: { url: "${dest.origin}/replied", body: { event: "{{ $steps.reply.event.id }}" } }\n`,
      });
      await postMuro(hl!, { id: `evt_open_${process.pid}`, type: 'conversation.opened', data: { conversation: { id: 'conv_c' } } }, clock.now());
      await settle(); // the waiter waits for a message

      // A message nested 100 000 deep answers the wait: storing the wait's output (the event) throws RangeError.
      const events = [{ ...messageIn('conv_c'), data: { conversation: { id: 'conv_c' }, deep: 'DEEP' } }, messageIn('conv_c'), messageIn('conv_d'), messageIn('conv_c')];
      for (const e of events) {
        const body = JSON.stringify(e).replace('"DEEP"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
        const answer = await send(`${hl!.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET, { t: Math.floor(clock.now() / 1000) }) });
        expect(answer.status).toBe(200);
      }
      // A row that is no longer JSON (hand-edited, or written by a faulty version).
      const corrupt = events[2]!;
      await behindItsBack({ sqlite: `UPDATE events SET body = '{"cut' WHERE event_id = '${corrupt.id}'`, postgres: `UPDATE events SET body = '{"cut' WHERE event_id = '${corrupt.id}'` });
      await settle();

      const status = await Promise.all(events.map(async (e) => (await statusOf(e.id)).status));
      expect(status).toEqual(['failed', 'dispatched', 'failed', 'dispatched']);
      expect((await statusOf(events[0]!.id)).dispatchError).toMatch(/^committing its dispatch failed: RangeError: Maximum call stack size exceeded/);
      expect((await statusOf(corrupt.id)).dispatchError).toMatch(/^planning its dispatch failed: SyntaxError: /);
      expect(delivered().sort()).toEqual([events[1]!.id, events[3]!.id].sort());
      // The wait is answered by the next message, as if the deep one had never come.
      expect(dest.requests.filter((r) => r.path === '/replied').map((r) => r.body)).toEqual([{ event: events[1]!.id }]);

      // The row repaired, a replay through the admin API dispatches it.
      const body = JSON.stringify(corrupt).replaceAll("'", "''");
      await behindItsBack({ sqlite: `UPDATE events SET body = '${body}' WHERE event_id = '${corrupt.id}'`, postgres: `UPDATE events SET body = '${body}' WHERE event_id = '${corrupt.id}'` });
      expect(await adminApi(`/events/${corrupt.id}/replay`, 'POST')).toMatchObject({ ok: true, generation: 0 });
      await settle();
      expect(await statusOf(corrupt.id)).toMatchObject({ status: 'dispatched', dispatchError: null });
      expect(delivered()).toContain(corrupt.id);
    });

    it('is not set aside when the store cannot write: dispatch waits and goes on once it can', async () => {
      dest = await startDestination();
      const store = writeSwitch(backend);
      await withRecipes({ send: sendTo(dest.origin) }, store.backend);
      const events = [messageIn('conv_e'), messageIn('conv_e'), messageIn('conv_f')];
      for (const e of events) await postMuro(hl!, e, clock.now());
      await store.refuseWrites();
      // A pass fails (dispatch, then the run claim): nothing is set aside, nothing is lost.
      for (let i = 0; i < 2; i++) await hl!.worker.tick().catch(() => undefined);
      for (const e of events) expect((await statusOf(e.id)).status).toBe('received');
      expect(hl!.worker.isRunning).toBe(false);
      await store.allowWrites();
      await expect.poll(async () => (await hl!.worker.drain().then(() => true, () => false)) && delivered().length, { timeout: 15_000, interval: 200 }).toBe(3);
      for (const e of events) expect((await statusOf(e.id)).status).toBe('dispatched');
      expect((await hl!.store.read.backlog()).setAside).toBe(0);
    });
  });
});
