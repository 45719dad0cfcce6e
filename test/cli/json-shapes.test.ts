import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { runHookline, writeChildConfig } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, tempDir, testConfig } from '../helpers/env.ts';
import { sample } from '../helpers/integration.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { meruHeaders } from '../helpers/sign.ts';

const hookline = runHookline;
const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);

const TOKEN = 'json-shapes-token';

describeBackends('cli --json and the admin API give one shape (snake_case, ISO 8601 times)', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let dest: Destination;
  let db: FreshStore;
  let hl: Hookline;
  const admin = async (path: string) => (await send(`${hl.url}${path}`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } })).json;
  const cli = async (...args: string[]) => (await hookline(args, temp.dir)).stdout;

  beforeAll(async () => {
    temp = tempDir();
    dest = await startDestination();
    db = await backend.fresh(temp.dir);
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
    copyFileSync(new URL('../../recipes/ticket-from-email.yaml', import.meta.url), join(temp.dir, 'recipes', 'ticket-from-email.yaml'));
    writeChildConfig(temp.dir, '', db.url);
    hl = await startHookline({ config: testConfig(temp.dir, { store: { url: db.url }, admin: { token: TOKEN } } as never), worker: false });
    dest.failNext(422);
    await postMuro(hl, { id: 'evt_shape_dead', type: 'conversation.opened', data: {} });
    await postMuro(hl, { id: 'evt_shape_ok', type: 'message.created', data: {} });
    const body = JSON.stringify(sample('meru/email.new-request'));
    expect((await send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, MERU_SECRET) })).status).toBe(200);
    // On PostgreSQL an event is dispatched only once no older transaction of the server is open
    // (other test files share it): drain until all three have been and their runs have finished.
    for (;;) {
      await hl.worker.drain();
      const counts = await hl.store.read.runCounts();
      const pending = (await hl.store.read.events({ limit: 10 })).some((e) => e.status === 'received');
      if (!pending && !counts.queued && !counts.running) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  afterAll(async () => {
    await hl.close();
    await dest.close();
    await db.drop();
    temp.cleanup();
  });

  it('events --json lines are the admin API’s events', async () => {
    const fromCli = lines(await cli('events', '--json'));
    expect(fromCli).toEqual((await admin('/admin/events')).events);
    expect(fromCli[0]).toMatchObject({ id: expect.any(String), received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    expect(Object.keys(fromCli[0] as object).every((k) => /^[a-z_]+$/.test(k))).toBe(true);
  });

  it('show --json is GET /admin/events/:id', async () => {
    expect(JSON.parse(await cli('show', 'evt_shape_dead', '--json'))).toEqual(await admin('/admin/events/evt_shape_dead'));
  });

  it('dead --json lines are GET /admin/runs?status=dead', async () => {
    const fromCli = lines(await cli('dead', '--json'));
    expect(fromCli).toHaveLength(1);
    expect(fromCli).toEqual((await admin('/admin/runs?status=dead')).runs);
    expect(fromCli[0]).toMatchObject({ recipe: 'forward', event_seq: expect.any(Number), updated_at: expect.stringMatching(/Z$/) });
  });

  it('tickets --json lines are GET /admin/tickets; one ticket is GET /admin/tickets/:id', async () => {
    const fromCli = lines(await cli('tickets', '--json'));
    expect(fromCli).toHaveLength(1);
    expect(fromCli).toEqual((await admin('/admin/tickets')).tickets);
    expect(JSON.parse(await cli('tickets', 'T-1', '--json'))).toEqual(await admin('/admin/tickets/T-1'));
  });
});

describe('enum options are checked: exit 2 with the allowed values', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
    writeChildConfig(temp.dir);
  });
  afterAll(() => temp.cleanup());

  it('tickets --status', async () => {
    const bogus = await hookline(['tickets', '--status', 'bogus'], temp.dir);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/--status.*'bogus' is invalid\. Allowed choices are open/);
    expect((await hookline(['tickets', '--status', 'open'], temp.dir)).code).toBe(0);
  });

  it('events --source and --limit', async () => {
    const source = await hookline(['events', '--source', 'github'], temp.dir);
    expect(source.code).toBe(2);
    expect(source.stderr).toMatch(/Allowed choices are muro, meru/);
    const limit = await hookline(['events', '-n', 'lots'], temp.dir);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/--limit.*expected a whole number from 1 to 1000/);
  });

  it('admin API: an unknown ticket status is a 400 that names the allowed ones, like runs', async () => {
    const { startTestHookline } = await import('../helpers/server.ts');
    const hl = await startTestHookline({ worker: false, overrides: { admin: { token: TOKEN } } as never });
    try {
      const answer = await send(`${hl.url}/admin/tickets?status=bogus`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(answer).toMatchObject({ status: 400, json: { code: 'HL_BAD_REQUEST', error: 'status must be one of open' } });
    } finally {
      await hl.stop();
    }
  });
});
