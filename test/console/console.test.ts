import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleAuth } from '../../src/console/auth.ts';
import { safeHref } from '../../src/console/html.ts';
import { eventOutcome, listEvents } from '../../src/console/outcome.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { manualClock } from '../../src/util/clock.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, type Answer } from '../helpers/server.ts';

// The console over plain HTTP: authentication, CSRF, escaping, the test event. The browser tests
// (console.browser.test.ts) drive the same pages in Chromium.

const TOKEN = 'console-test-token-93ab';
let hl: Hookline;
let dest: Destination;
let cleanup: () => void;

const cookieOf = (answer: Answer) => String(answer.headers['set-cookie'] ?? '').split(';')[0]!;

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const answer = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(answer.status).toBe(303);
  const cookie = cookieOf(answer);
  const page = await get('/console/dead', cookie);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf! };
}

const get = (path: string, cookie?: string, headers: Record<string, string> = {}) => send(`${hl.url}${path}`, { method: 'GET', headers: { ...(cookie ? { cookie } : {}), ...headers } });
const postForm = (path: string, cookie: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  send(`${hl.url}${path}`, { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers } });

beforeAll(async () => {
  dest = await startDestination();
  const temp = tempDir('hookline-console-');
  cleanup = temp.cleanup;
  writeRecipe(temp.dir, 'forward', `on: muro/message.created\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
  hl = await startHookline({ config: testConfig(temp.dir, { admin: { token: TOKEN }, worker: { poll: 50 } } as never) });
});

afterAll(async () => {
  await hl.close();
  await dest.close();
  cleanup();
});

describe('without an admin token', () => {
  it('the console does not exist: 404 everywhere under /console', async () => {
    const temp = tempDir();
    const bare = await startHookline({ config: testConfig(temp.dir), worker: false });
    try {
      for (const path of ['/console', '/console/login', '/console/events', '/console/assets/htmx.min.js']) {
        expect((await send(`${bare.url}${path}`, { method: 'GET' })).status, path).toBe(404);
      }
      expect((await send(`${bare.url}/console/login`, { body: 'token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(404);
    } finally {
      await bare.close();
      temp.cleanup();
    }
  });
});

describe('sign-in', () => {
  it('sends a visitor without a session to the sign-in form, and htmx requests to it by header', async () => {
    const page = await get('/console/events?source=muro');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/console/login?next=%2Fconsole%2Fevents%3Fsource%3Dmuro');
    const partial = await get('/console/live/events', undefined, { 'hx-request': 'true' });
    expect(partial.status).toBe(401);
    expect(partial.headers['hx-redirect']).toMatch(/^\/console\/login/);
    expect((await get('/console/assets/console.css')).status).toBe(200);
    expect((await get('/console/assets/htmx.min.js')).headers['content-type']).toMatch(/javascript/);
    for (const sneaky of ['/console/assets/..%2Fevents', '/console/assets/x/../../events', '/console/login/../events']) {
      const answer = await get(sneaky);
      expect(answer.text, sneaky).not.toContain('<h1>Events</h1>');
      expect([303, 404], sneaky).toContain(answer.status);
    }
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    const answer = await send(`${hl.url}/console/login`, { body: 'token=wrong', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(401);
    expect(answer.text).toContain('Wrong token');
    expect(answer.headers['set-cookie']).toBeUndefined();
  });

  it('gives a session cookie that is not the token, and only console paths as the next page', async () => {
    const answer = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}&next=${encodeURIComponent('//evil.example/')}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/console');
    const header = String(answer.headers['set-cookie']);
    expect(header).toMatch(/^hookline_console=v1\.[^;]+; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(header).not.toContain(TOKEN);
    const viaProxy = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' } });
    expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/);
    const page = await get('/console', cookieOf(answer));
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('<h1>Overview</h1>');
  });

  it('refuses a forged or tampered cookie', async () => {
    const { cookie } = await signIn();
    const tampered = cookie.replace(/v1\.([0-9a-z]+)\./, (_m, exp: string) => `v1.${(Number.parseInt(exp, 36) + 1000).toString(36)}.`);
    for (const c of [tampered, 'hookline_console=v1.zzzzzz.AAAAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43), `hookline_console=${TOKEN}`]) {
      expect((await get('/console', c)).status).toBe(303);
    }
  });

  it('sessions expire, sign-out revokes, too many wrong tokens are throttled (unit)', () => {
    const clock = manualClock(1_000_000);
    const auth = new ConsoleAuth('t0ken', clock, { ttlMs: 60_000, limits: { failures: 3, windowMs: 10_000 } });
    const a = auth.signIn('t0ken')!;
    expect(auth.verify(a.cookie)).toMatchObject({ csrf: a.session.csrf });
    expect(new ConsoleAuth('other-token', clock).verify(a.cookie)).toBeUndefined();
    clock.advance(60_001);
    expect(auth.verify(a.cookie)).toBeUndefined();

    const b = auth.signIn('t0ken')!;
    auth.signOut(b.session);
    expect(auth.verify(b.cookie)).toBeUndefined();

    for (let i = 0; i < 3; i++) {
      expect(auth.mayTry('10.0.0.1')).toBe(true);
      auth.failed('10.0.0.1');
    }
    expect(auth.mayTry('10.0.0.1')).toBe(false);
    expect(auth.mayTry('10.0.0.2')).toBe(true);
    clock.advance(10_001);
    expect(auth.mayTry('10.0.0.1')).toBe(true);
  });
});

describe('writes', () => {
  it('need the session’s CSRF token and a same-origin request', async () => {
    const { cookie, csrf } = await signIn();
    expect((await postForm('/console/dead/retry-all', cookie, {})).status).toBe(403);
    expect((await postForm('/console/dead/retry-all', cookie, { _csrf: `${csrf}x` })).status).toBe(403);
    expect((await postForm('/console/dead/retry-all', cookie, { _csrf: csrf }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await postForm('/console/dead/retry-all', cookie, { _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const other = await signIn();
    expect((await postForm('/console/dead/retry-all', cookie, { _csrf: other.csrf })).status).toBe(403);
    const ok = await postForm('/console/dead/retry-all', cookie, { _csrf: csrf }, { origin: hl.url });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toMatch(/^\/console\/dead\?notice=retried_all&n=0$/);
    // Behind a proxy that rewrites Host, the forwarded host counts.
    expect((await postForm('/console/dead/retry-all', cookie, { _csrf: csrf }, { origin: 'https://hooks.example.com', 'x-forwarded-host': 'hooks.example.com' })).status).toBe(303);
    // htmx sends the token as a header.
    expect((await postForm('/console/dead/retry-all', cookie, {}, { 'x-csrf-token': csrf })).status).toBe(303);
  });

  it('sign-out needs the token too, then the cookie is dead', async () => {
    const { cookie, csrf } = await signIn();
    expect((await postForm('/console/logout', cookie, {})).status).toBe(403);
    const out = await postForm('/console/logout', cookie, { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await get('/console', cookie)).status).toBe(303);
  });
});

describe('pages', () => {
  it('escape event data everywhere and never link a javascript: URL', async () => {
    const { cookie } = await signIn();
    const evil = '<script>alert(1)</script>';
    await postMuro(hl, { id: 'evt_esc_1', type: `x${evil}`, data: { message: { text: evil }, conversation: { url: 'javascript:alert(1)' } } });
    const list = await get('/console/events', cookie);
    const detail = await get('/console/events/evt_esc_1', cookie);
    for (const page of [list, detail]) {
      expect(page.status).toBe(200);
      expect(page.text).not.toContain(evil);
      expect(page.text).not.toContain('href="javascript:');
    }
    expect(list.text).toContain('x&lt;script>alert(1)&lt;/script>');
    expect(detail.text).toContain('&lt;script>alert(1)&lt;/script>');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('https://app.muro.example/inbox/1')).toBe('https://app.muro.example/inbox/1');
  });

  it('lists events by outcome', async () => {
    const { cookie } = await signIn();
    dest.failNext(400);
    await postMuro(hl, { id: 'evt_out_dead', type: 'message.created', data: {} });
    await postMuro(hl, { id: 'evt_out_none', type: 'nothing.matches', data: {} });
    await expect.poll(async () => (await listEvents(hl.store, { outcome: 'dead', limit: 10 })).rows.map((r) => r.event.eventId), { timeout: 10_000 }).toEqual(['evt_out_dead']);
    await expect.poll(async () => (await listEvents(hl.store, { outcome: 'unmatched', limit: 50 })).rows.map((r) => r.event.eventId), { timeout: 10_000 }).toContain('evt_out_none');
    const page = await get('/console/events?outcome=dead', cookie);
    expect(page.text).toContain('data-event="evt_out_dead" data-outcome="dead"');
    expect(page.text).not.toContain('evt_out_none');
    const dead = await get('/console/dead', cookie);
    expect(dead.text).toContain('evt_out_dead');
    expect(dead.text).toMatch(/answered 400/);
  });

  it('outcome of an event from its latest runs (unit)', () => {
    const e = (status: 'received' | 'dispatched', generation = 0) => ({ status, generation });
    const r = (status: string, generation = 0) => ({ status, generation }) as never;
    expect(eventOutcome(e('received'), [])).toBe('pending');
    expect(eventOutcome(e('dispatched'), [])).toBe('unmatched');
    expect(eventOutcome(e('dispatched'), [r('done'), r('dead')])).toBe('dead');
    expect(eventOutcome(e('dispatched'), [r('done'), r('retrying'), r('waiting')])).toBe('retrying');
    expect(eventOutcome(e('dispatched'), [r('done'), r('waiting')])).toBe('waiting');
    expect(eventOutcome(e('dispatched'), [r('skipped'), r('done')])).toBe('done');
    expect(eventOutcome(e('dispatched'), [r('skipped')])).toBe('skipped');
    // A replay is judged by its own runs, not by the dead run of the first delivery.
    expect(eventOutcome(e('dispatched', 1), [r('dead', 0), r('done', 1)])).toBe('done');
  });

  it('replays an event from its page', async () => {
    const { cookie, csrf } = await signIn();
    await postMuro(hl, { id: 'evt_replay_1', type: 'message.created', data: {} });
    await expect.poll(async () => (await hl.store.read.receipts('evt_replay_1'))[0]?.status, { timeout: 10_000 }).toBe('dispatched');
    const replay = await postForm('/console/events/evt_replay_1/replay', cookie, { _csrf: csrf });
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toMatch(/^\/console\/events\/evt_replay_1\?seq=\d+&notice=replayed$/);
    expect((await hl.store.read.receipts('evt_replay_1'))[0]!.generation).toBe(1);
    await expect.poll(async () => (await get(String(replay.headers.location), cookie)).text, { timeout: 10_000 }).toContain('replay 1');
  });

  it('opens events whose id needs escaping in a URL', async () => {
    const { cookie } = await signIn();
    const id = 'evt/odd id?#&x=1';
    await postMuro(hl, { id, type: 'nothing.matches', data: {} });
    const list = await get(`/console/events?q=${encodeURIComponent(id)}`, cookie);
    const href = /href="(\/console\/events\/[^"]+)"/.exec(list.text)?.[1]?.replaceAll('&amp;', '&');
    expect(href).toBe(`/console/events/${encodeURIComponent(id)}?seq=${(await hl.store.read.receipts(id))[0]!.seq}`);
    const page = await get(href!, cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('evt/odd id?#&amp;x=1');
  });

  it('answers 404 pages for unknown events, runs and tickets', async () => {
    const { cookie } = await signIn();
    for (const path of ['/console/events/evt_nope', '/console/runs/r_nope/retry', '/console/tickets/T-999', '/console/nothing-here']) {
      expect((await get(path, cookie)).status, path).toBe(404);
    }
  });
});

describe('send a test event', () => {
  it('signs and posts it to this hookline, then shows it with its runs', async () => {
    const { cookie, csrf } = await signIn();
    const sent = await postForm('/console/send', cookie, { _csrf: csrf, event: 'muro/message.created.visitor', payload: '' });
    expect(sent.status).toBe(303);
    const location = String(sent.headers.location);
    const params = new URL(location, hl.url).searchParams;
    expect(params.get('status')).toBe('200');
    const id = params.get('id')!;
    expect(id).toMatch(/^evt_test_/);
    const [event] = await hl.store.read.receipts(id, 'muro');
    expect(event).toMatchObject({ type: 'message.created', test: true });
    await expect.poll(async () => (await get(`/console/live/arrival?source=muro&id=${id}`, cookie)).text, { timeout: 10_000 }).toContain('data-outcome="done"');
    const page = await get(location, cookie);
    expect(page.text).toContain(`{&quot;ok&quot;:true,&quot;id&quot;:&quot;${id}&quot;}`);
  });

  it('reports what the receiver answered to an edited payload', async () => {
    const { cookie, csrf } = await signIn();
    const noId = await postForm('/console/send', cookie, { _csrf: csrf, event: 'muro/conversation.opened', payload: '{"type":"conversation.opened","data":{}}' });
    expect(new URL(String(noId.headers.location), hl.url).searchParams.get('answer')).toContain('HL_EVENT_ID_MISSING');
    const notJson = await postForm('/console/send', cookie, { _csrf: csrf, event: 'muro/conversation.opened', payload: '{nope' });
    expect(notJson.status).toBe(400);
    expect(notJson.text).toContain('The payload is not JSON');
    const unknown = await postForm('/console/send', cookie, { _csrf: csrf, event: 'elsewhere/x' });
    expect(unknown.status).toBe(400);
    const sample = await get('/console/live/sample?event=meru/email.reply', cookie);
    expect(sample.text).toContain('&quot;event_id&quot;: &quot;evt_test_');
  });
});
