import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, type Answer } from '../helpers/server.ts';

// Replay by filter in the console: a count and a confirmation first, a CSRF-checked POST, and a
// second replay of the same filter is visible (skipped unless included).
const TOKEN = 'console-bulk-token-7f2c';
let hl: Hookline;
let dest: Destination;
let cleanup: () => void;
const cookieOf = (answer: Answer) => String(answer.headers['set-cookie'] ?? '').split(';')[0]!;
const get = (path: string, cookie: string) => send(`${hl.url}${path}`, { method: 'GET', headers: { cookie } });
const postForm = (path: string, cookie: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  send(`${hl.url}${path}`, { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: hl.url, ...headers } });

beforeAll(async () => {
  dest = await startDestination();
  const temp = tempDir('hookline-console-');
  cleanup = temp.cleanup;
  writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
  hl = await startHookline({ config: testConfig(temp.dir, { admin: { token: TOKEN } } as never), worker: false });
  for (const id of ['evt_c1', 'evt_c2']) await postMuro(hl, { id, type: 'conversation.opened', data: {} });
  await postMuro(hl, { id: 'evt_m', type: 'message.created', data: {} });
  await hl.worker.drain();
});
afterAll(async () => {
  await hl.close();
  await dest.close();
  cleanup();
});

it('counts, confirms, replays once, and shows a second replay as already done', async () => {
  const login = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const cookie = cookieOf(login);
  const page = await get('/console/replay?since=1h&type=conversation.*', cookie);
  expect(page.status).toBe(200);
  expect(page.text).toMatch(/data-matched="2"/);
  expect(page.text).toMatch(/Yes, replay 2 events/);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;

  const form = { since: '1h', type: 'conversation.*' };
  expect((await postForm('/console/replay', cookie, form)).status).toBe(403); // no CSRF token
  expect((await postForm('/console/replay', cookie, { ...form, _csrf: csrf }, { origin: 'http://evil.example' })).status).toBe(403);
  const done = await postForm('/console/replay', cookie, { ...form, _csrf: csrf });
  expect(done.status).toBe(303);
  const shown = await get(String(done.headers.location), cookie);
  expect(shown.text).toMatch(/2 events replayed \(operation b\w+\)/);
  await hl.worker.drain();
  expect(dest.requests).toHaveLength(5);

  const again = await get('/console/replay?since=1h&type=conversation.*', cookie);
  expect(again.text).toMatch(/2<\/strong> already replayed by an earlier bulk replay/);
  const skipped = await postForm('/console/replay', cookie, { ...form, _csrf: csrf });
  expect((await get(String(skipped.headers.location), cookie)).text).toMatch(/0 events replayed; 2 skipped/);
  expect((await get('/console/replay?since=tomorrow', cookie)).text).toMatch(/since: &quot;tomorrow&quot; is neither|since: "tomorrow" is neither/);
});
