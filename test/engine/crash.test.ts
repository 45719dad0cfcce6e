import { afterEach, expect, it } from 'vitest';
import { describeBackends, type Backend } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(backend: Backend, recipes: Record<string, string>) {
  const temp = tempDir('hookline-engine-crash-');
  cleanups.push(temp.cleanup);
  const db = await backend.fresh(temp.dir);
  cleanups.push(() => db.drop());
  for (const [name, yaml] of Object.entries(recipes)) writeRecipe(temp.dir, name, yaml);
  const config = writeChildConfig(temp.dir, 'worker: { poll: 100, lease: 30s }\nretry: { schedule: [1s], jitter: 0 }\n', db.url);
  // Debug logs are the signals the test waits on ("run waiting", "run done").
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(config, readFileSync(config, 'utf8').replace('log: { level: warn }', 'log: { level: debug }'));
  const start = async (): Promise<Child> => {
    const child = await spawnHookline(['serve', '--config', config], { cwd: temp.dir });
    cleanups.push(async () => {
      if (child.proc.exitCode === null) await child.kill();
    });
    return child;
  };
  return { dir: temp.dir, start, runs: () => db.query<{ id: string; status: string }>('SELECT id, status FROM runs') };
}

describeBackends('engine crash', (backend) => {
  it('kill -9 in the middle of a multi-step run: after restart it resumes at the unfinished step', async () => {
    const a: Destination = await startDestination();
    const b: Destination = await startDestination();
    cleanups.push(() => a.close());
    cleanups.push(async () => {
      b.release();
      await b.close();
    });
    const env = await setup(backend, {
      two: `on: muro/*\nsteps:\n  - id: one\n    http: { url: "${a.origin}/one" }\n  - id: two\n    http: { url: "${b.origin}/two" }\n`,
    });
    let child = await env.start();
    b.hold();
    const arrived = b.nextArrival();
    await postMuro(child, { id: 'evt_crash_steps', type: 'x', data: {} });
    await arrived; // step one is done and step two's request is in flight
    await child.kill();
    b.release();

    child = await env.start();
    await child.waitForLog(/"msg":"run done"/);
    expect(a.requests).toHaveLength(1); // the finished step was not repeated
    // The step in flight at the crash is sent again (at-least-once), with the same idempotency key.
    expect(b.requests.map((r) => r.headers['idempotency-key'])).toEqual(['muro:evt_crash_steps:two:two', 'muro:evt_crash_steps:two:two']);
    expect(await env.runs()).toEqual([expect.objectContaining({ status: 'done' })]);
  });

  it('kill -9 while a wait_for is pending: after restart the timer still fires, once', async () => {
    const c: Destination = await startDestination();
    cleanups.push(() => c.close());
    const env = await setup(backend, {
      timer: `on: muro/*\nsteps:\n  - id: wait\n    wait_for: { event: muro/never, timeout: 2s }\n  - id: after\n    http: { url: "${c.origin}/after", body: { timed_out: "{{ $steps.wait.timed_out }}" } }\n`,
    });
    let child = await env.start();
    const waiting = child.waitForLog(/"msg":"run waiting"/);
    await postMuro(child, { id: 'evt_crash_wait', type: 'x', data: {} });
    await waiting;
    await child.kill();

    child = await env.start();
    await child.waitForLog(/"msg":"run done"/);
    expect(c.requests).toHaveLength(1);
    expect(c.requests[0]!.body).toEqual({ timed_out: true });
    await child.stop();
    expect(await env.runs()).toEqual([expect.objectContaining({ status: 'done' })]);
    expect(c.requests).toHaveLength(1);
  });
});
