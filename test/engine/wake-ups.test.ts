// The worker asks the store only when something may be there: events stored, runs made due, a wait's
// deadline or a retry it keeps in memory. Nothing between polls otherwise (poll set to a minute here).
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { message, postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startTestHookline, type TestHookline } from '../helpers/server.ts';

describeBackends('worker wake-ups', (backend) => {
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

  async function withRecipe(yaml: string) {
    const temp = tempDir();
    writeRecipe(temp.dir, 'r', yaml);
    const started = await startTestHookline({ dir: temp.dir, backend, overrides: { worker: { poll: 60_000 }, retry: { schedule: [100], jitter: 0 } } as never });
    hl = { ...started, stop: async () => { await started.stop(); temp.cleanup(); } };
    return hl;
  }

  /** Counts the calls of a store method from now on. */
  function count(object: object, method: string): { n: number } {
    const counter = { n: 0 };
    const target = object as Record<string, (...args: unknown[]) => unknown>;
    const original = target[method]!.bind(object);
    target[method] = (...args: unknown[]) => {
      counter.n++;
      return original(...args);
    };
    return counter;
  }

  it('with no wait_for anywhere, events go through without a single sweep for due waits', async () => {
    await withRecipe(`on: muro/message.created\nsteps:\n  - id: post\n    http: { url: "${dest.origin}/x" }\n`);
    const expire = count(hl!.store.waits, 'expire');
    const deadline = count(hl!.store.waits, 'nextDeadline');
    for (let i = 0; i < 20; i++) await postMuro(hl!, message('c1', 'visitor', `m${i}`));
    await dest.arrived(20);
    expect(expire.n).toBe(0);
    expect(deadline.n).toBe(0);
  });

  it('a run created while the worker has free slots starts at once, leased at creation, without a claim', async () => {
    await withRecipe(`on: muro/message.created\nsteps:\n  - id: post\n    http: { url: "${dest.origin}/x" }\n`);
    // The start's look for work is over once a first event went through.
    await postMuro(hl!, message('c0', 'visitor', 'first'));
    await dest.arrived(1);
    const claims = count(hl!.store.queue, 'claim');
    for (let i = 1; i <= 10; i++) {
      await postMuro(hl!, message('c1', 'visitor', `m${i}`));
      await dest.arrived(1 + i);
    }
    await expect.poll(async () => (await hl!.store.read.runs({ recipe: 'r' })).map((r) => r.status)).toEqual(Array(11).fill('done'));
    expect(claims.n).toBe(0);
  });

  it('a wait’s deadline and a retry are timers: the store is swept when they are due', async () => {
    await withRecipe(`on: muro/message.created
steps:
  - id: reply
    wait_for: { event: muro/message.created, match: data.message.author.type = "agent", timeout: 300ms }
  - id: post
    http: { url: "${dest.origin}/after", body: { timed_out: "{{ $steps.reply.timed_out }}" } }
`);
    const expire = count(hl!.store.waits, 'expire');
    dest.failNext(503);
    const sent = Date.now();
    await postMuro(hl!, message('c2', 'visitor', 'hello'));
    // The 503 is answered by the emulator's script: poll the requests it recorded.
    await expect.poll(() => dest.requests.length, { timeout: 10_000 }).toBe(2);
    await expect.poll(async () => (await hl!.store.read.runs({ recipe: 'r' }))[0]?.status).toBe('done');
    // Timed out once, by a sweep at its deadline; the 503 retried after 100 ms, by the timer.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(400);
    expect(expire.n).toBeLessThanOrEqual(2);
    expect(dest.requests.map((r) => r.body)).toEqual([{ timed_out: true }, { timed_out: true }]);
  });
});
