import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { actionRegistry, builtinActions } from '../../src/actions/registry.ts';
import type { ActionDefinition } from '../../src/actions/types.ts';
import { manualClock } from '../../src/util/clock.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { message, postMuro, writeRecipe } from '../helpers/recipes.ts';
import { describeBackends } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { startTestHookline, type TestHookline } from '../helpers/server.ts';

/** A test action that needs the slack connection, to exercise "skipped: not configured". */
const needsSlack: ActionDefinition<{ text: string }> = {
  name: 'needs_slack',
  description: 'test action with a connection',
  connection: 'slack',
  args: () => z.object({ text: z.string() }),
  execute: async (args) => ({ sent: args.text }),
  preview: (args, config) => ({ url: config.connections.slack.webhook_url ?? '(webhook_url)', body: { text: args.text } }),
  fake: () => ({}),
};

describeBackends('engine', (backend) => {
  const start = Date.parse('2026-11-20T09:00:00Z');
  let clock: ReturnType<typeof manualClock>;
  let hl: TestHookline;
  let dest: Destination;

  beforeEach(async () => {
    dest = await startDestination();
  });
  afterEach(async () => {
    await hl?.stop();
    hl = undefined as never;
    await dest.close();
  });

  /** Starts hookline with the worker stopped (tests drive it with drain()) and the given recipes. */
  async function withRecipes(recipes: Record<string, string>, overrides: Record<string, unknown> = {}) {
    clock = manualClock(start);
    const temp = tempDir();
    for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
    const started = await startTestHookline({
      dir: temp.dir,
      backend,
      clock,
      worker: false,
      actions: actionRegistry([...builtinActions, needsSlack]),
      overrides: { retry: { schedule: [30_000, 60_000], jitter: 0 }, ...overrides } as never,
    });
    hl = { ...started, stop: async () => { await started.stop(); temp.cleanup(); } };
    return hl;
  }

  const post = (event: Record<string, unknown>) => postMuro(hl, event, clock.now());
  const runsOf = async (recipe?: string) => hl.store.read.runs({ recipe, limit: 100 });

  describe('matching and steps', () => {
    it('starts a run for each matching recipe whose if holds, and runs its steps in order with outputs visible', async () => {
      await withRecipes({
        notify: `
  name: notify
  on: [muro/conversation.*, muro/visitor.identified]
  if: data.visitor.email != null
  steps:
    - id: first
      http: { url: "${dest.origin}/first/{{ data.conversation.id }}", body: { name: "{{ data.visitor.name }}" } }
    - id: second
      http: { url: "${dest.origin}/second", body: { previous: "{{ $steps.first.body.path }}", status: "{{ $steps.first.status }}" } }
  `,
        other: `
  on: meru/*
  steps: [ { id: never, http: { url: "${dest.origin}/never" } } ]
  `,
      });
      await post({ id: 'evt_a', type: 'conversation.opened', data: { conversation: { id: 'c1' }, visitor: { name: 'Dana', email: 'd@x' } } });
      await post({ id: 'evt_b', type: 'conversation.opened', data: { conversation: { id: 'c2' }, visitor: { name: 'Anon' } } });
      await post({ id: 'evt_c', type: 'message.created', data: { conversation: { id: 'c3' }, visitor: { email: 'e@x' } } });
      await hl.worker.drain();

      expect(dest.requests.map((r) => r.path)).toEqual(['/first/c1', '/second']);
      expect(dest.requests[0]!.body).toEqual({ name: 'Dana' });
      expect(dest.requests[1]!.body).toEqual({ previous: '/first/c1', status: 200 });
      expect(dest.requests[0]!.headers['idempotency-key']).toBe('muro:evt_a:notify:first');
      const [run] = await runsOf('notify');
      expect(run).toMatchObject({ status: 'done' });
      expect(await runsOf('other')).toEqual([]);
    });

    it('records a step whose connection is not configured as skipped, with the request it would send', async () => {
      await withRecipes({ s: `on: muro/*\nsteps:\n  - id: tell\n    needs_slack: { text: "hi {{ data.who }}" }\n  - id: after\n    log: "after {{ $steps.tell.skipped }}"\n` });
      await post({ id: 'evt_s', type: 'x', data: { who: 'Dana' } });
      await hl.worker.drain();
      const [run] = await runsOf();
      const detail = await hl.store.read.run(run!.id);
      expect(detail!.status).toBe('done');
      expect(detail!.steps[0]).toMatchObject({ stepId: 'tell', status: 'skipped', output: { skipped: 'slack not configured', request: { body: { text: 'hi Dana' } } } });
      expect(detail!.steps[1]).toMatchObject({ stepId: 'after', output: { logged: 'after slack not configured' } });
    });

    it('fails a step with a clear error when a template field is missing, never sending "undefined"', async () => {
      await withRecipes({ t: `on: muro/*\nsteps:\n  - id: page\n    http: { url: "${dest.origin}/p", body: { who: "VIP {{ data.visitor.email }}" } }\n` });
      await post({ id: 'evt_missing', type: 'x', data: { visitor: {} } });
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(0);
      const [run] = await runsOf();
      expect(run).toMatchObject({ status: 'dead' });
      expect(run!.error).toMatch(/recipe t, step page: \{\{ data\.visitor\.email \}\} evaluated to nothing/);
    });

    it('keeps event data as data: hostile strings are sent literally, never evaluated', async () => {
      process.env.HOOKLINE_TEST_SECRET_VAR = 'should-not-leak';
      await withRecipes({ h: `on: muro/*\nsteps:\n  - id: echo\n    http: { url: "${dest.origin}/e", body: { text: "said: {{ data.text }}", raw: "{{ data }}" } }\n` }, { env: ['HOOKLINE_TEST_SECRET_VAR'] });
      const hostile = ['{{ $env.HOOKLINE_TEST_SECRET_VAR }}', '" & $env.HOOKLINE_TEST_SECRET_VAR & "', '${HOOKLINE_TEST_SECRET_VAR}', '<script>alert(1)</script>', '}}{{'];
      await post({ id: 'evt_hostile', type: 'x', data: { text: hostile.join(' '), __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } } });
      await hl.worker.drain();
      const [req] = dest.requests;
      expect((req!.body as { text: string }).text).toBe(`said: ${hostile.join(' ')}`);
      expect(JSON.stringify(req!.body)).not.toContain('should-not-leak');
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('a failing if expression at run time sends the run to dead letters naming recipe, step and expression', async () => {
      await withRecipes({ e: `on: muro/*\nsteps:\n  - id: s\n    if: $number(data.n) > 1\n    log: hi\n` });
      await post({ id: 'evt_if', type: 'x', data: { n: 'not a number' } });
      await hl.worker.drain();
      const [run] = await runsOf();
      expect(run!.status).toBe('dead');
      expect(run!.error).toMatch(/^recipe e, step s: if expression "\$number\(data\.n\) > 1" failed: /);
    });
  });

  describe('retries and dead letters', () => {
    const recipe = (path = 'r') => `on: muro/*\nsteps:\n  - id: call\n    http: { url: "${dest.origin}/${path}", body: { id: "{{ id }}" } }\n`;

    it('503 twice then 200: delivered once, three attempts recorded, on the schedule', async () => {
      await withRecipes({ r: recipe() });
      dest.failNext(503, 503);
      await post({ id: 'evt_503', type: 'x', data: {} });
      await hl.worker.drain();
      let [run] = await runsOf();
      expect(run).toMatchObject({ status: 'retrying', attempt: 1, availableAt: start + 30_000 });
      clock.advance(29_999);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(1);
      clock.advance(1);
      await hl.worker.drain();
      [run] = await runsOf();
      expect(run).toMatchObject({ status: 'retrying', attempt: 2, availableAt: start + 30_000 + 60_000 });
      clock.advance(60_000);
      await hl.worker.drain();
      expect(dest.delivered).toHaveLength(1);
      expect(dest.requests).toHaveLength(3);
      const detail = await hl.store.read.run(run!.id);
      expect(detail!.status).toBe('done');
      expect(detail!.attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([[1, 'retry', 503], [2, 'retry', 503], [3, 'ok', undefined]]);
      expect(detail!.attempts.every((a) => a.durationMs >= 0)).toBe(true);
    });

    it('429 with Retry-After: 2 waits at least 2 s, whatever the schedule says', async () => {
      await withRecipes({ r: recipe() });
      dest.failNext({ status: 429, retryAfter: 2 });
      await post({ id: 'evt_429', type: 'x', data: {} });
      await hl.worker.drain();
      const [run] = await runsOf();
      expect(run).toMatchObject({ status: 'retrying', availableAt: start + 2000 });
      clock.advance(1999);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(1);
      clock.advance(1);
      await hl.worker.drain();
      expect(dest.delivered).toHaveLength(1);
      expect(dest.delivered[0]!.time - dest.requests[0]!.time).toBeGreaterThanOrEqual(0);
    });

    it('400 goes to dead letters at once; dead --retry after the fix delivers it, and a finished step is not repeated', async () => {
      await withRecipes({
        r: `on: muro/*\nsteps:\n  - id: first\n    http: { url: "${dest.origin}/first" }\n  - id: call\n    http: { url: "${dest.origin}/second" }\n`,
      });
      await post({ id: 'evt_400', type: 'x', data: {} });
      // First step succeeds, the second gets a 400.
      const firstDone = dest.waitFor(1);
      const drained = (async () => {
        await firstDone;
        dest.failNext({ status: 400, body: { error: 'bad field' } });
      })();
      await hl.worker.drain();
      await drained;
      if ((await runsOf())[0]!.status !== 'dead') await hl.worker.drain();
      const [run] = await runsOf();
      expect(run!.status).toBe('dead');
      expect(run!.error).toMatch(/answered 400/);
      expect((await hl.store.read.run(run!.id))!.attempts.at(-1)).toMatchObject({ outcome: 'failed', statusCode: 400, response: { status: 400, body: { error: 'bad field' } } });

      expect(await hl.store.operations.retryRun(run!.id, clock.now())).toBe('retried');
      await hl.worker.drain();
      expect((await hl.store.read.run(run!.id))!.status).toBe('done');
      expect(dest.requests.map((r) => r.path)).toEqual(['/first', '/second', '/second']);
    });

    it('gives up after the schedule is used up', async () => {
      await withRecipes({ r: recipe() });
      dest.setDown(true);
      await post({ id: 'evt_down', type: 'x', data: {} });
      for (let i = 0; i < 3; i++) {
        await hl.worker.drain();
        clock.advance(60_000);
      }
      const [run] = await runsOf();
      expect(run!.status).toBe('dead');
      expect(run!.error).toMatch(/gave up after 3 attempts/);
      expect(dest.requests).toHaveLength(3);
    });

    it('a network error is retried', async () => {
      const closed = dest.origin;
      await dest.close();
      dest = await startDestination();
      await withRecipes({ r: `on: muro/*\nsteps:\n  - id: call\n    http: { url: "${closed}/unreachable" }\n` });
      await post({ id: 'evt_net', type: 'x', data: {} });
      await hl.worker.drain();
      const [run] = await runsOf();
      expect(run).toMatchObject({ status: 'retrying' });
      expect(run!.error).toMatch(/ECONNREFUSED/);
    });
  });

  describe('keys', () => {
    it('allows one live run per key; later events with that key are recorded as skipped', async () => {
      await withRecipes({
        k: `on: muro/message.created\nkey: data.conversation.id\nsteps:\n  - id: wait\n    wait_for: { event: muro/conversation.closed, timeout: 1h }\n`,
      });
      await post(message('conv_k', 'visitor', 'one'));
      await post(message('conv_k', 'visitor', 'two'));
      await post(message('conv_other', 'visitor', 'three'));
      await hl.worker.drain();
      const runs = await runsOf();
      expect(runs.map((r) => r.status).sort()).toEqual(['skipped', 'waiting', 'waiting']);
      const skipped = runs.find((r) => r.status === 'skipped')!;
      expect(skipped.error).toMatch(/key "conv_k" is held by live run r/);
    });
  });

  describe('wait_for', () => {
    const vip = `
  on: muro/message.created
  if: data.message.author.type = "visitor"
  key: data.conversation.id
  steps:
    - id: reply
      wait_for:
        event: muro/message.created
        match: data.conversation.id = $trigger.data.conversation.id and data.message.author.type = "agent"
        timeout: 2m
    - id: page
      if: $steps.reply.timed_out
      http: { url: "${'DEST'}/page", body: { conversation: "{{ data.conversation.id }}" } }
    - id: answered
      if: $not($steps.reply.timed_out)
      http: { url: "${'DEST'}/answered", body: { by: "{{ $steps.reply.event.data.message.author.name }}" } }
  `;
    const vipRecipe = () => vip.replaceAll('DEST', dest.origin);

    it('resolves with the matching event: $steps.<id>.event', async () => {
      await withRecipes({ vip: vipRecipe() });
      await post(message('conv_1', 'visitor', 'help'));
      await hl.worker.drain();
      expect((await runsOf())[0]!.status).toBe('waiting');
      await post(message('conv_2', 'agent', 'wrong conversation'));
      await hl.worker.drain();
      expect((await runsOf())[0]!.status).toBe('waiting');
      clock.advance(60_000);
      await post(message('conv_1', 'agent', 'on it'));
      await hl.worker.drain();
      expect(dest.requests.map((r) => [r.path, r.body])).toEqual([['/answered', { by: 'Sam' }]]);
    });

    it('times out with timed_out: true when nothing matches in time, exactly once', async () => {
      await withRecipes({ vip: vipRecipe() });
      await post(message('conv_t', 'visitor', 'help'));
      await hl.worker.drain();
      clock.advance(119_999);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(0);
      clock.advance(1);
      await hl.worker.drain();
      clock.advance(3600_000);
      await hl.worker.drain();
      expect(dest.requests.map((r) => r.path)).toEqual(['/page']);
    });

    it('looks back: a reply received after the trigger but before the wait was registered still resolves it', async () => {
      await withRecipes({ vip: vipRecipe() });
      // Both arrive in the same second, before the worker has run at all.
      await post(message('conv_race', 'visitor', 'help'));
      await post(message('conv_race', 'agent', 'already here'));
      await hl.worker.drain();
      expect(dest.requests.map((r) => r.path)).toEqual(['/answered']);
      clock.advance(3600_000);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(1);
    });

    it('an event and the timer racing for the same wait resolve it once', async () => {
      await withRecipes({ vip: vipRecipe() });
      await post(message('conv_r', 'visitor', 'help'));
      await hl.worker.drain();
      // The deadline passes and the reply arrives before the worker looks: both want the wait.
      clock.advance(120_000);
      await post(message('conv_r', 'agent', 'just in time?'));
      await hl.worker.drain();
      clock.advance(3600_000);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(1);
      const detail = await hl.store.read.run((await runsOf())[0]!.id);
      expect(detail!.status).toBe('done');
      expect(detail!.steps.filter((s) => s.stepId === 'reply')).toHaveLength(1);
    });

    it('a replay runs the recipes again but does not answer waits a second time', async () => {
      await withRecipes({ vip: vipRecipe() });
      await post(message('conv_p', 'visitor', 'help'));
      const reply = message('conv_p', 'agent', 'hi');
      await post(reply);
      await hl.worker.drain();
      expect(dest.requests).toHaveLength(1);
      const [trigger] = await hl.store.read.events({ search: 'conv_p', limit: 1 });
      expect(await hl.store.operations.replay(trigger!.seq - 1)).toBe(true);
      await hl.worker.drain();
      const runs = await runsOf();
      expect(runs.filter((r) => r.generation === 1)).toHaveLength(1);
    });
  });

  describe('ordering', () => {
    it('state is updated in receive order before runs start: the closing run sees every earlier message', async () => {
      await withRecipes({
        summary: `on: muro/conversation.closed\nsteps:\n  - id: send\n    http: { url: "${dest.origin}/t", body: { lines: "{{ $conversation.messages.text }}" } }\n`,
      });
      await post(message('conv_o', 'visitor', 'one'));
      await post(message('conv_o', 'agent', 'two'));
      await post({ ...message('conv_o', 'visitor', 'three'), type: 'message.created' });
      await post({ id: 'evt_close_o', type: 'conversation.closed', data: { conversation: { id: 'conv_o' } } });
      await hl.worker.drain();
      expect(dest.requests[0]!.body).toEqual({ lines: ['one', 'two', 'three'] });
    });

    it('duplicate messages are stored once in the transcript (by message id)', async () => {
      await withRecipes({});
      const m = message('conv_d', 'visitor', 'once');
      await post(m);
      await post({ ...m, id: 'evt_other_delivery' });
      await hl.worker.drain();
      expect((await hl.store.records.conversations.transcript('conv_d')).map((t) => (t.message as { text: string }).text)).toEqual(['once']);
    });
  });

  describe('recipes removed while runs wait', () => {
    it('a run whose recipe is gone goes to dead letters with the reason', async () => {
      await withRecipes({ w: `on: muro/*\nsteps:\n  - id: w\n    wait_for: { event: muro/never, timeout: 1m }\n  - id: l\n    log: x\n` });
      await post({ id: 'evt_gone', type: 'x', data: {} });
      await hl.worker.drain();
      const { rmSync } = await import('node:fs');
      rmSync(`${hl.dir}/recipes/w.yaml`);
      hl.reloadRecipes();
      clock.advance(60_000);
      await hl.worker.drain();
      const [run] = await runsOf();
      expect(run).toMatchObject({ status: 'dead', error: 'recipe "w" is no longer loaded (removed, renamed or refused)' });
    });
  });
});
