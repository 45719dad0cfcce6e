// Operating hookline on PostgreSQL: /readyz names the database and its pool; pool size and statement
// timeout are the configured ones; a lost or silent database connection gives 503 on receive (never
// a 2xx without a commit) and hookline recovers by itself when the database is back. Skipped without
// HOOKLINE_TEST_PG_URL.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { howToEnable, pgUrl, postgres, withPostgres, type FreshStore } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MURO_SECRET, tempDir, testConfig } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send, type Answer } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';
import { startProxy, type TcpProxy } from '../store/tcp-proxy.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  hl: Hookline;
  db: FreshStore;
  dest: Destination;
  proxy: TcpProxy;
  post(id: string): Promise<Answer & { ms: number }>;
  get(path: string): Promise<Answer>;
}

/** hookline with its worker, reaching a fresh schema through a TCP proxy the test can cut or stall. */
async function setup(store: Record<string, unknown> = {}): Promise<Setup> {
  const temp = tempDir('hookline-pg-ops-');
  cleanups.push(temp.cleanup);
  const db = await postgres.fresh(temp.dir);
  cleanups.push(() => db.drop());
  const dest = await startDestination();
  cleanups.push(() => dest.close());
  const target = new URL(pgUrl!);
  const proxy = await startProxy(target.hostname, Number(target.port || 5432));
  cleanups.push(() => proxy.close());
  cleanups.push(() => proxy.up());
  const via = new URL(db.url);
  via.hostname = '127.0.0.1';
  via.port = String(proxy.port);
  writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x", body: { id: "{{ id }}" } } } ]\n`);
  const config = testConfig(temp.dir, { store: { url: via.toString(), ...store }, worker: { poll: 100 } } as never);
  const hl = await startHookline({ config });
  cleanups.push(() => hl.close());
  return {
    hl,
    db,
    dest,
    proxy,
    post: async (id) => {
      const body = JSON.stringify({ id, type: 'message.created', data: {} });
      const started = performance.now();
      const answer = await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) });
      return { ...answer, ms: performance.now() - started };
    },
    get: (path) => send(`${hl.url}${path}`, { method: 'GET' }),
  };
}

/** Every event id the store holds, read directly (not through the proxy), with how often. */
async function storedIds(db: FreshStore): Promise<Map<string, number>> {
  const rows = await db.query<{ event_id: string; n: string }>('SELECT event_id, count(*) AS n FROM events GROUP BY event_id');
  return new Map(rows.map((r) => [r.event_id, Number(r.n)]));
}

describe.skipIf(!withPostgres)('operating on PostgreSQL', () => {
  it('readyz names the database, its schema and pool; pool size and statement timeout are the configured ones', async () => {
    const s = await setup({ pool_size: 3, statement_timeout: '1500ms' });
    const ready = await s.get('/readyz');
    const target = new URL(pgUrl!);
    expect(ready).toMatchObject({
      status: 200,
      json: {
        ok: true,
        store: 'postgres',
        database: {
          address: `127.0.0.1:${s.proxy.port}${target.pathname}`,
          schema: expect.stringMatching(/^hl_test_/),
          statement_timeout_ms: 1500,
          pool: { max: 3, open: expect.any(Number), idle: expect.any(Number), waiting: 0 },
          ping_ms: expect.any(Number),
        },
      },
    });
    expect(ready.text).not.toContain('password');

    // The statement timeout applies: a receive that waits on a lock longer than that is refused with 503.
    const schema = ready.json.database.schema as string;
    const blocker = new pg.Client({ connectionString: s.db.url });
    await blocker.connect();
    cleanups.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO ${schema}.seen_events (source, event_id, seen_at, expires_at) VALUES ('muro', 'evt_locked', 0, 0)`);
    const refused = await s.post('evt_locked');
    expect(refused).toMatchObject({ status: 503, json: { ok: false, code: 'HL_STORE_UNAVAILABLE' } });
    expect(refused.ms).toBeGreaterThanOrEqual(1_400);
    expect(refused.ms).toBeLessThan(4_000);
    await blocker.query('ROLLBACK');
    expect((await s.post('evt_locked')).json).toEqual({ ok: true, id: 'evt_locked' });

    // At most pool_size connections of the main pool, however many requests come at once.
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.post(`evt_burst_${i}`)));
    const pool = (await s.get('/readyz')).json.database.pool;
    expect(pool.open).toBeLessThanOrEqual(3);
    await s.dest.waitFor(31, 10_000);
  });

  it('database gone: receive answers 503 and readyz 503; it comes back: both recover by themselves, the worker too', async () => {
    const s = await setup({ statement_timeout: '2s' });
    expect((await s.post('evt_before')).json).toEqual({ ok: true, id: 'evt_before' });
    await s.dest.waitFor(1);

    s.proxy.down();
    const refused = await s.post('evt_during');
    expect(refused).toMatchObject({ status: 503, json: { ok: false, code: 'HL_STORE_UNAVAILABLE' } });
    const notReady = await s.get('/readyz');
    expect(notReady).toMatchObject({ status: 503, json: { ok: false, store: 'postgres', database: { schema: expect.any(String) }, error: expect.any(String) } });
    expect((await s.get('/healthz')).status).toBe(200); // the process is fine: do not restart it

    s.proxy.up();
    // The sender retries; hookline answers 200 again without a restart.
    let retried: Answer | undefined;
    await expect
      .poll(async () => (retried = await s.post('evt_during')).status, { timeout: 10_000, interval: 100 })
      .toBe(200);
    // Stored once, whether the refused attempt had reached the database or not.
    expect(retried!.json.ok).toBe(true);
    await expect.poll(async () => (await s.get('/readyz')).status, { timeout: 5_000 }).toBe(200);
    expect((await s.post('evt_after')).json).toEqual({ ok: true, id: 'evt_after' });
    await s.dest.waitFor(3, 15_000);
    const stored = await storedIds(s.db);
    expect(Object.fromEntries(stored)).toEqual({ evt_before: 1, evt_during: 1, evt_after: 1 });
    expect(s.dest.delivered.map((r) => (r.body as { id: string }).id).sort()).toEqual(['evt_after', 'evt_before', 'evt_during']);
  });

  it('database silent (packets dropped): receive answers 503 within the statement timeout, never hangs or 2xx; recovers after', async () => {
    const s = await setup({ statement_timeout: '1s' });
    expect((await s.post('evt_ok')).status).toBe(200);

    s.proxy.stall();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => s.post(`evt_stalled_${i}`)));
    for (const a of answers) {
      expect(a).toMatchObject({ status: 503, json: { code: 'HL_STORE_UNAVAILABLE' } });
      // Within statement_timeout + 1 s of arrival, queued or not: well within muro's 10 s sender timeout.
      expect(a.ms).toBeLessThan(1_000 + 1_000 + 1_000);
    }
    const notReady = await s.get('/readyz');
    expect(notReady.status).toBe(503);

    s.proxy.up();
    await expect.poll(async () => (await s.post('evt_back')).status, { timeout: 15_000, interval: 200 }).toBe(200);
    for (let i = 0; i < 5; i++) expect((await s.post(`evt_stalled_${i}`)).status).toBe(200);
    const stored = await storedIds(s.db);
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    expect(stored.has('evt_ok') && stored.has('evt_back')).toBe(true);
    await s.dest.waitFor(7, 15_000);
  });
});

describe.skipIf(withPostgres)(`operating on PostgreSQL (${howToEnable})`, () => {
  it('readyz, pool size, statement timeout, 503 on a lost database and recovery', () => {});
});
