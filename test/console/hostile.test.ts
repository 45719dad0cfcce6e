import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, MURO_SECRET, tempDir } from '../helpers/env.ts';
import { sample } from '../helpers/integration.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type Answer, type TestHookline } from '../helpers/server.ts';
import { meruHeaders, muroHeaders } from '../helpers/sign.ts';

// No query value, path value or stored event makes the console or the admin API answer 5xx: every
// GET route (found from the server's own route table, so a new page is covered the day it is added)
// is driven with hostile values, on both backends (PostgreSQL refuses NUL and out-of-range integers).

const TOKEN = 'hostile-test-token-5c1d';

/** Prototype keys, numbers out of every range, NUL, bidi, a lone surrogate, 10 KB. */
const hostile = [
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'prototype',
  '99999999999999999999999', '-1', '-99999999999999999999', '1e308', '0x10', 'NaN', 'Infinity', '1.5',
  '\u0000', 'a\u0000b', '%', '..', '\u202E', '\r\nX-Injected: 1', "'; DROP TABLE events; --", 'x'.repeat(10_240), '',
];
/** Sent raw in the query: not UTF-8 (a lone surrogate's bytes, a cut sequence). */
const rawHostile = ['%ED%A0%80', '%C3', '%FF%FE'];
/** One of each kind, for the name-at-a-time pass (every value goes with every name at once). */
const eachKind = ['constructor', '__proto__', '99999999999999999999999', '-1', '1.5', '%00', 'x'.repeat(10_240), '%ED%A0%80', ''];
const queryNames = ['q', 'source', 'type', 'outcome', 'before', 'limit', 'status', 'seq', 'id', 'notice', 'n', 'next', 'event', 'answer', 'search'];

/** GET routes as fastify's route table prints them: "├── /admin/events (GET, HEAD)", children indented 4 per level. */
function getRoutes(printed: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of printed.split('\n')) {
    const m = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(`${stack[depth - 1] ?? ''}${m[2]}`);
    if (m[3]?.split(', ').includes('GET')) routes.push(stack[depth]!);
  }
  return routes;
}

describeBackends('console and admin API: no 5xx on hostile input', (backend) => {
  let hl: TestHookline;
  let dest: Destination;
  let cleanup: () => void;
  let cookie: string;
  const real: Record<string, string> = {};

  const get = (path: string): Promise<Answer> => send(`${hl.url}${path}`, { method: 'GET', headers: { cookie, authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    dest = await startDestination();
    const temp = tempDir();
    cleanup = temp.cleanup;
    writeRecipe(temp.dir, 'forward', `on: muro/message.created\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
    writeRecipe(temp.dir, 'tickets', `on: meru/email.received\nsteps: [ { id: ticket, ticket.create: {} } ]\n`);
    hl = await startTestHookline({ dir: temp.dir, backend, overrides: { admin: { token: TOKEN }, worker: { poll: 50 } } as never });
    const signIn = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    cookie = String(signIn.headers['set-cookie']).split(';')[0]!;

    // Something to find behind every kind of id: an event with a run, a ticket, an odd deep event.
    await postMuro(hl, { id: 'evt_hostile_1', type: 'message.created', data: { message: { text: 'hi' } } });
    const email = JSON.stringify(sample('meru/email.new-request', (e) => (e.attachments[0].filename = 'invoice\u202Efdp.exe')));
    expect((await send(`${hl.url}/meru/webhook`, { body: email, headers: meruHeaders(email, MERU_SECRET) })).status).toBe(200);
    const depth = 100_000;
    const deep = `{"id":"evt_hostile_deep","type":"odd.deep","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    expect((await send(`${hl.url}/muro/webhook`, { body: deep, headers: muroHeaders(deep, MURO_SECRET) })).status).toBe(200);
    await hl.worker.drain();
    const [run] = (await get('/admin/runs?status=done')).json.runs;
    Object.assign(real, { id: 'evt_hostile_1', run: run.id, ticket: 'T-1', name: 'forward', asset: 'console.css' });
  });

  afterAll(async () => {
    await hl?.stop();
    await dest?.close();
    cleanup?.();
  });

  it('shows an event nested 100 000 deep in the console, cut at a depth, with its raw body', async () => {
    const page = await get('/console/events/evt_hostile_deep');
    expect(page.status).toBe(200);
    expect(page.text).toContain('nested deeper than');
    expect(page.text).toContain('raw body');
    const ticket = await get('/console/tickets/T-1');
    expect(ticket.status).toBe(200);
    expect(ticket.text).toContain('invoicefdp.exe');
    expect(ticket.text).not.toContain('\u202E');
    expect(ticket.text).toContain('threading: new ticket');
  });

  it('answers every console and admin GET route without 5xx, whatever the query and path values', async () => {
    const routes = getRoutes(hl.app.printRoutes({ commonPrefix: false })).filter((r) => r.startsWith('/console') || r.startsWith('/admin'));
    expect(routes).toEqual(expect.arrayContaining(['/console/', '/console/login', '/console/events/:id', '/console/tickets/:id', '/admin/events/:id']));

    const urls: string[] = [];
    const encoded = [...hostile.map((v) => encodeURIComponent(v)), ...rawHostile];
    for (const route of routes) {
      const fill = (value: (param: string) => string) => route.replace(/:\w+/g, (p) => value(p.slice(1)));
      // Hostile path values, each alone.
      if (route.includes(':')) for (const v of encoded) urls.push(fill(() => v));
      // Hostile query values on a path that finds something: every name at once (scalar, repeated,
      // bracketed), then one name at a time, so that a 400 for one cannot hide what another would do.
      const path = fill((p) => encodeURIComponent(route.includes('/runs/') ? real.run! : route.includes('/tickets/') ? real.ticket! : route.includes('/assets/') ? real.asset! : (real[p] ?? 'x')));
      urls.push(path);
      for (const v of encoded) {
        urls.push(`${path}?${queryNames.map((n) => `${n}=${v}`).join('&')}`);
        urls.push(`${path}?${queryNames.map((n) => `${n}=${v}&${n}=${v}`).join('&')}`);
        urls.push(`${path}?${queryNames.map((n) => `${n}[]=${v}`).join('&')}`);
      }
      for (const v of eachKind) for (const n of queryNames) urls.push(`${path}?${n}=${v}`);
    }

    const failures: string[] = [];
    for (let i = 0; i < urls.length; i += 8) {
      const answers = await Promise.all(urls.slice(i, i + 8).map(async (url) => ({ url, answer: await get(url) })));
      for (const { url, answer } of answers) if (answer.status >= 500) failures.push(`${answer.status} ${url.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(urls.length).toBeGreaterThan(5000);
  }, 240_000);
});
