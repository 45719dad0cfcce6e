// /readyz on both backends: 503 with the reason when the store cannot write (it may still answer
// reads) and while dispatch is stuck or far behind; 200 again by itself once that is over.
import { afterEach, expect, it } from 'vitest';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends } from '../helpers/backends.ts';
import { postMuro } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { writeSwitch } from '../helpers/unwritable.ts';

describeBackends('readyz', (backend) => {
  let hl: TestHookline | undefined;
  afterEach(async () => {
    await hl?.stop();
    hl = undefined;
  });
  const readyz = async () => {
    const answer = await send(`${hl!.url}/readyz`, { method: 'GET' });
    return { status: answer.status, json: answer.json as Record<string, any> };
  };

  it('answers 503 naming the store while it cannot write, though it still answers queries; 200 once it can', async () => {
    const store = writeSwitch(backend);
    hl = await startTestHookline({ backend: store.backend, worker: false });
    expect((await readyz()).status).toBe(200);
    await store.refuseWrites();
    // Reads still work: this is what SELECT 1 alone would not notice.
    expect(await hl.store.read.eventCount()).toBe(0);
    const refused = await readyz();
    expect(refused).toMatchObject({ status: 503, json: { ok: false, store: backend.name, error: expect.stringMatching(/^store: /) } });
    expect(refused.json.error).toMatch(backend.name === 'sqlite' ? /database is locked/ : /read-only transaction/);
    expect((await send(`${hl.url}/healthz`, { method: 'GET' })).status).toBe(200);
    await store.allowWrites();
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 100 }).toBe(200);
  });

  it('answers 503 while the oldest event waiting for dispatch is older than worker.max_lag, saying so; 200 once dispatch catches up', async () => {
    const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
    hl = await startTestHookline({ backend, clock, overrides: { worker: { max_lag: '1m', poll: 50 } } as never });
    // Dispatch stuck: something holds the dispatch lock and never lets go (a hung instance, say).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = hl.store.dispatch.withLock(async () => {
      locked();
      await held;
    });
    await isLocked;

    await postMuro(hl, { id: 'evt_stuck', type: 'message.created', data: {} }, clock.now());
    const fresh = await readyz();
    expect(fresh).toMatchObject({ status: 200, json: { ok: true, dispatch: { lag_ms: 0, set_aside: 0 } } });
    clock.advance(60_000);
    expect((await readyz()).status).toBe(200);
    clock.advance(1_000);
    const behind = await readyz();
    expect(behind).toMatchObject({ status: 503, json: { ok: false, store: backend.name, dispatch: { lag_ms: 61_000 } } });
    expect(behind.json.error).toBe('dispatch is behind: the oldest event waiting for it was received 61 s ago (worker.max_lag: 60 s)');

    release();
    await holder;
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 50 }).toBe(200);
    expect((await hl.store.read.receipts('evt_stuck'))[0]?.status).toBe('dispatched');
  });

  it('reports events set aside without leaving rotation, and checks no dispatch where no worker runs', async () => {
    hl = await startTestHookline({ backend, overrides: { worker: { poll: 50 } } as never });
    await postMuro(hl, { id: 'evt_aside', type: 'message.created', data: {} });
    await expect.poll(async () => (await hl!.store.read.receipts('evt_aside'))[0]?.status, { timeout: 10_000 }).toBe('dispatched');
    const [event] = await hl.store.read.receipts('evt_aside');
    // Replayed and set aside by hand while the worker is stopped: as if its dispatch had failed.
    await hl.worker.stop();
    await hl.store.operations.replay(event!.seq);
    expect(await hl.store.dispatch.setAside({ seq: event!.seq, generation: 1, error: 'planning its dispatch failed: x' })).toBe(true);
    expect(await readyz()).toMatchObject({ status: 200, json: { ok: true, dispatch: { worker: false } } });
    await hl.worker.start();
    expect(await readyz()).toMatchObject({ status: 200, json: { ok: true, dispatch: { set_aside: 1, lag_ms: 0 } } });
  });
});
