import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadEmail } from '../../src/domain/ticket-threading.ts';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { MURO_SECRET } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';

const TOKEN = 'admin-test-token';
describeBackends('admin API', (backend) => {
  let hl: TestHookline;
  let dest: Destination;
  let cleanup: () => void;
  const get = (path: string, token: string | null = TOKEN) => send(`${hl.url}${path}`, { method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const postAdmin = (path: string) => send(`${hl.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    dest = await startDestination();
    const temp = tempDir();
    cleanup = temp.cleanup;
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
    hl = await startTestHookline({ dir: temp.dir, backend, worker: false, overrides: { admin: { token: TOKEN }, worker: { poll: 50 } } as never });
  });
  afterAll(async () => {
    await hl.stop();
    await dest.close();
    cleanup();
  });

  describe('authentication', () => {
    it('401 for a missing or wrong token', async () => {
      expect((await get('/admin/events', null)).status).toBe(401);
      const wrong = await get('/admin/events', 'nope');
      expect(wrong).toMatchObject({ status: 401, json: { ok: false, code: 'HL_UNAUTHORIZED' } });
      expect(wrong.headers['www-authenticate']).toBe('Bearer');
    });

    it('404 for everything when no token is configured', async () => {
      const bare = await startTestHookline({ backend, worker: false });
      try {
        for (const path of ['/admin/events', '/admin/runs', '/admin/runs/x/retry', '/admin/tickets']) {
          expect((await send(`${bare.url}${path}`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
        }
      } finally {
        await bare.stop();
      }
    });
  });

  describe('events and runs', () => {
    it('lists events with filters, shows one with its runs, replays it', async () => {
      await postMuro(hl, { id: 'evt_admin_1', type: 'conversation.opened', data: { visitor: { email: 'dana@x.test' } } });
      await postMuro(hl, { id: 'evt_admin_2', type: 'message.created', data: {} });
      await hl.worker.drain();

      const list = await get('/admin/events?source=muro&type=conversation.*&limit=10');
      expect(list.json.events.map((e: { id: string }) => e.id)).toEqual(['evt_admin_1']);
      expect((await get('/admin/events?q=dana@x.test')).json.events.map((e: { id: string }) => e.id)).toEqual(['evt_admin_1']);

      const one = await get('/admin/events/evt_admin_1');
      expect(one.json.event).toMatchObject({ id: 'evt_admin_1', type: 'conversation.opened', payload: { data: { visitor: { email: 'dana@x.test' } } } });
      expect(one.json.runs).toHaveLength(1);
      expect(one.json.runs[0]).toMatchObject({ recipe: 'forward', status: 'done', steps: [{ id: 'call', status: 'done' }], attempts: [{ step: 'call', outcome: 'ok' }] });
      expect((await get('/admin/events/evt_nope')).status).toBe(404);

      const replay = await postAdmin('/admin/events/evt_admin_1/replay');
      expect(replay).toMatchObject({ status: 202, json: { ok: true, generation: 1 } });
      await hl.worker.drain();
      expect((await get('/admin/events/evt_admin_1')).json.runs).toHaveLength(2);
      expect(dest.requests.filter((r) => r.headers['idempotency-key'] === 'muro:evt_admin_1:forward:call:replay-1')).toHaveLength(1);
    });

    it('lists runs by status and retries a dead one', async () => {
      dest.failNext(400);
      await postMuro(hl, { id: 'evt_admin_dead', type: 'x', data: {} });
      await hl.worker.drain();
      const dead = await get('/admin/runs?status=dead');
      expect(dead.json.runs).toHaveLength(1);
      const id = dead.json.runs[0].id as string;
      expect(dead.json.runs[0].error).toMatch(/answered 400/);
      expect((await get('/admin/runs?status=bogus')).status).toBe(400);
      expect((await get('/admin/runs?status=done')).json.runs.length).toBeGreaterThan(0);

      expect(await postAdmin(`/admin/runs/${id}/retry`)).toMatchObject({ status: 200, json: { ok: true } });
      expect(await postAdmin(`/admin/runs/${id}/retry`)).toMatchObject({ status: 409, json: { code: 'HL_NOT_DEAD' } });
      expect((await postAdmin('/admin/runs/r_missing/retry')).status).toBe(404);
      await hl.worker.drain();
      expect((await get(`/admin/runs/${id}`)).json).toMatchObject({ status: 'done', event: { id: 'evt_admin_dead' } });
      expect((await get('/admin/runs?status=dead')).json.runs).toHaveLength(0);
    });

    it('lists the loaded recipes', async () => {
      expect((await get('/admin/recipes')).json).toMatchObject({ recipes: [{ name: 'forward', on: ['muro/*'], steps: [{ id: 'call', action: 'http' }] }], errors: [] });
    });
  });

  describe('odd events', () => {
    it('shows an event nested 100 000 deep: its payload cut at a depth, and its raw body as text', async () => {
      const depth = 100_000;
      const body = `{"id":"evt_admin_deep","type":"odd.deep","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},"after":"kept"}`;
      expect((await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) })).status).toBe(200);
      const one = await get('/admin/events/evt_admin_deep');
      expect(one.status).toBe(200);
      expect(one.json.event).toMatchObject({ id: 'evt_admin_deep', type: 'odd.deep', body, payload: { id: 'evt_admin_deep', after: 'kept' } });
      expect(one.json.event.payload_note).toMatch(/nested deeper than \d+ levels/);
      let value = one.json.event.payload.data;
      let levels = 1;
      while (typeof value === 'object' && value !== null) {
        value = value.a;
        levels++;
      }
      expect(typeof value).toBe('string');
      expect(levels).toBeLessThan(100);
      expect((await get('/admin/events?type=odd.deep')).json.events.map((e: { id: string }) => e.id)).toEqual(['evt_admin_deep']);
    });

    it('shows attachment metadata recorded before it was cleaned on receipt, cleaned', async () => {
      const dirty = { filename: 'invoice\u202Efdp.exe', contentType: 'text/html\r\nX-Injected: 1', size: 5, sha256: null, saved: false, reason: 'spam: not saved' };
      const input = { idempotencyKey: 'old-row', eventSeq: 1, receivedAt: 0, from: 'old@client.example', recipients: [], subject: 'Old', text: '', replyTo: [], attachments: [dirty] };
      const { ticketId } = await hl.store.records.tickets.record(input, Date.now(), threadEmail);
      const shown = await get(`/admin/tickets/T-${ticketId}`);
      expect(shown.json.messages[0].attachments).toEqual([{ filename: 'invoicefdp.exe', content_type: 'application/octet-stream', size: 5, sha256: null, saved: false, reason: 'spam: not saved' }]);
    });
  });
});
