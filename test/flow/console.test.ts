// The console's side of flow control: the Recipes page shows a pause button (a CSRF-checked POST),
// the paused state with the runs held, and a held run says what it waits for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, type Answer } from '../helpers/server.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';

const TOKEN = 'flow-console-token-5521';
let hl: Hookline;
let dest: Destination;
let slack: SlackEmulator;
let cleanup: () => void;

const cookieOf = (answer: Answer) => String(answer.headers['set-cookie'] ?? '').split(';')[0]!;
const get = (path: string, cookie: string) => send(`${hl.url}${path}`, { method: 'GET', headers: { cookie } });
const postForm = (path: string, cookie: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  send(`${hl.url}${path}`, { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers } });

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const answer = await send(`${hl.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const cookie = cookieOf(answer);
  const page = await get('/console/recipes', cookie);
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! };
}

beforeAll(async () => {
  dest = await startDestination();
  slack = await startSlackEmulator();
  const temp = tempDir('hookline-flow-console-');
  cleanup = temp.cleanup;
  writeRecipe(temp.dir, 'forward', `on: muro/message.created\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
  writeRecipe(temp.dir, 'chatty', `on: muro/conversation.opened\nsteps: [ { id: post, slack: { text: "hi" } } ]\n`);
  hl = await startHookline({ config: testConfig(temp.dir, { admin: { token: TOKEN }, worker: { poll: 50 }, connections: { slack: { webhook_url: slack.webhookUrl, rate: '1/m' } } } as never) });
});

afterAll(async () => {
  await hl.close();
  await dest.close();
  await slack.close();
  cleanup();
});

describe('console: flow control', () => {
  it('pauses and resumes a recipe from the Recipes page; the POST needs the session CSRF token', async () => {
    const { cookie, csrf } = await signIn();
    const page = await get('/console/recipes', cookie);
    expect(page.text).toContain('action="/console/recipes/forward/pause"');

    expect((await postForm('/console/recipes/forward/pause', cookie, {})).status).toBe(403);
    expect((await postForm('/console/recipes/forward/pause', cookie, { _csrf: csrf }, { origin: 'http://evil.example' })).status).toBe(403);
    expect(await hl.store.flow.pausedRecipes()).toEqual([]);

    const paused = await postForm('/console/recipes/forward/pause', cookie, { _csrf: csrf });
    expect(paused.status).toBe(303);
    expect(paused.headers.location).toBe('/console/recipes?notice=recipe_paused&recipe=forward');
    await postMuro(hl, { id: 'evt_console_pause', type: 'message.created', data: {} });
    await expect.poll(async () => (await hl.store.flow.paused())[0]?.held, { timeout: 5000 }).toBe(1);
    const shown = await get(paused.headers.location as string, cookie);
    expect(shown.text).toContain('forward is paused');
    expect(shown.text).toMatch(/paused · 1 held/);
    expect(shown.text).toContain('action="/console/recipes/forward/resume"');
    expect(dest.requests).toHaveLength(0);

    const resumed = await postForm('/console/recipes/forward/resume', cookie, { _csrf: csrf });
    expect(resumed.headers.location).toBe('/console/recipes?notice=recipe_resumed&recipe=forward');
    await dest.waitFor(1, 5000);
    expect((await postForm('/console/recipes/nope/pause', cookie, { _csrf: csrf })).headers.location).toBe('/console/recipes?notice=recipe_not_found&recipe=nope');
  });

  it('a run held for its connection\'s rate says "waiting for rate" on its event page', async () => {
    const { cookie } = await signIn();
    await postMuro(hl, { id: 'evt_console_rate_1', type: 'conversation.opened', data: {} });
    await postMuro(hl, { id: 'evt_console_rate_2', type: 'conversation.opened', data: {} });
    await slack.waitFor(1, 5000);
    await expect.poll(async () => (await hl.store.flow.held())['rate:slack'], { timeout: 5000 }).toBe(1);
    const page = await get('/console/events/evt_console_rate_2', cookie);
    expect(page.text).toContain('waiting for rate (slack)');
    const recipes = await get('/console/recipes', cookie);
    expect(recipes.text).toContain('1 run waiting for rate (slack)');
    const api = await send(`${hl.url}/admin/runs?recipe=chatty&status=queued`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.json.runs).toEqual([expect.objectContaining({ hold: 'rate:slack' })]);
  });
});
