import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { meruHeaders } from '../helpers/sign.ts';
import { browserMissing, launchChromium, screenshot } from './browser.ts';

// End to end in headless Chromium: a real hookline (SQLite, worker running) on a real socket, a
// real destination for the recipe's http step, and the console driven through its pages.

const TOKEN = 'console-e2e-token-1f3c';
let hl: Hookline;
let dest: Destination;
let browser: Browser;
let cleanup: () => void;

/** A browser context signed in through the form, as an operator would. */
async function signedIn(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: hl.url, viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  await page.goto('/console');
  await page.waitForURL(/\/console\/login/);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  return { context, page };
}

/** A link of the navigation bar (the dead letters one carries a count). */
const nav = (page: Page, name: string) => page.locator('header nav a', { hasText: name });

/** Fails the test on any dialog (an alert() an XSS would open) and records script errors. */
function watch(page: Page): { dialogs: string[]; errors: string[] } {
  const seen = { dialogs: [] as string[], errors: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}

describe.skipIf(browserMissing)('console in a browser', () => {
  beforeAll(async () => {
    dest = await startDestination();
    const temp = tempDir('hookline-console-');
    cleanup = temp.cleanup;
    writeRecipe(temp.dir, 'forward', `name: forward\non: muro/message.created\nsteps:\n  - id: call\n    http:\n      url: "${dest.origin}/hook"\n      body: { text: "{{ data.message.text }}" }\n`);
    writeRecipe(temp.dir, 'summary', `name: summary\non: muro/conversation.closed\nsteps:\n  - id: row\n    store:\n      table: conversation_summaries\n      row: { conversation_id: "{{ data.conversation.id }}", summary: "{{ data.summary }}" }\n`);
    copyFileSync(new URL('../../recipes/ticket-from-email.yaml', import.meta.url), join(temp.dir, 'recipes', 'ticket-from-email.yaml'));
    writeRecipe(temp.dir, 'broken', `name: broken\non: muro/conversation.opened\nsteps:\n  - id: a\n    no_such_action: {}\n`);
    const config = testConfig(temp.dir, {
      admin: { token: TOKEN },
      worker: { poll: 50 },
      retry: { schedule: [100], jitter: 0, timeout: 2_000 },
    } as never);
    hl = await startHookline({ config });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await hl?.close();
    await dest?.close();
    cleanup?.();
  });

  it('refuses a wrong token and keeps every page behind the sign-in', async () => {
    const context = await browser.newContext({ baseURL: hl.url });
    const page = await context.newPage();
    await page.goto('/console/events');
    await page.waitForURL(/\/console\/login\?next=%2Fconsole%2Fevents/);
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Admin token').fill('not-the-token');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(answer.status()).toBe(401);
    await expect.poll(() => page.locator('.notice.error').textContent()).toContain('Wrong token');
    await screenshot(page, '02-wrong-token');
    expect(await context.cookies()).toEqual([]);
    await page.goto('/console/dead');
    expect(page.url()).toContain('/console/login');
    await context.close();
  });

  it('signs in with the token: an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const { context, page } = await signedIn();
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'hookline_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await expect.poll(() => page.locator('figure.chart').count()).toBeGreaterThanOrEqual(4);
    await screenshot(page, '03-overview');

    // Signing out ends the session: the same cookie no longer opens a page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/login/);
    await context.addCookies(cookies);
    await page.goto('/console/events');
    expect(page.url()).toContain('/console/login');
    await context.close();
  });

  it('sends a test event from the console and shows the run it triggered', async () => {
    const { context, page } = await signedIn();
    const seen = watch(page);
    const before = dest.delivered.length;
    await nav(page, 'Send test event').click();
    await page.getByLabel('Source and type').selectOption('muro/message.created.test');
    // With JavaScript, the chosen sample can be loaded into the payload box and edited first.
    await page.getByRole('button', { name: 'Edit the sample first' }).click();
    await expect.poll(() => page.locator('textarea[name=payload]').inputValue()).toContain('"text": "This is a test event from muro."');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.waitForURL(/\/console\/send\?/);
    await expect.poll(() => page.locator('section.sent').textContent()).toContain('200');
    // htmx polls until the run settles: the forward recipe's run appears and ends done.
    await page.locator('#arrival[data-outcome="done"]').waitFor({ timeout: 15_000 });
    const row = page.locator('#arrival tr[data-recipe="forward"]');
    expect(await row.locator('.badge').first().textContent()).toBe('done');
    await screenshot(page, '04-send-test-event');
    expect(dest.delivered.length).toBe(before + 1);
    expect(dest.delivered.at(-1)!.body).toEqual({ text: 'This is a test event from muro.' });

    // The event page shows the run, its step, the attempt with the request sent and the response.
    await page.locator('#arrival a').first().click();
    await page.locator('section.run[data-recipe="forward"]').waitFor();
    await page.locator('section.run table.attempts summary', { hasText: 'request' }).click();
    expect(await page.locator('section.run table.attempts').textContent()).toContain(`${dest.origin}/hook`);
    await screenshot(page, '05-event-detail');
    expect(seen.errors).toEqual([]);
    await context.close();
  });

  it('shows a failing destination’s error, and the retry delivers once it recovers', async () => {
    const { context, page } = await signedIn();
    dest.failNext(503, 503); // the first attempt and its one retry
    const id = `evt_fail_${Date.now()}`;
    await postMuro(hl, { id, type: 'message.created', data: { message: { text: 'needs a retry' } } });

    await page.goto(`/console/events?q=${id}`);
    await page.locator(`tr[data-event="${id}"][data-outcome="dead"]`).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: id }).click();
    const run = page.locator('section.run.r-dead');
    await run.waitFor();
    expect(await run.locator('.run-error').textContent()).toMatch(/503/);
    expect(await run.locator('table.attempts tbody tr').count()).toBe(2);
    await screenshot(page, '06-event-dead');

    await nav(page, 'Dead letters').click();
    const row = page.locator('table.dead tbody tr', { hasText: id });
    expect(await row.locator('td.error').textContent()).toMatch(/503/);
    await screenshot(page, '07-dead-letters');
    await row.getByRole('link', { name: 'Retry…' }).click();
    await page.waitForURL(/\/retry$/);
    await screenshot(page, '08-confirm-retry');
    const delivered = dest.delivered.length;
    await page.getByRole('button', { name: 'Yes, retry the run' }).click();
    // Back on the event page, the run goes from queued to done while the page watches.
    await page.waitForURL(new RegExp(`/console/events/${id}`));
    expect(await page.locator('.notice').textContent()).toContain('queued again');
    await page.locator('section.run.r-done').waitFor({ timeout: 15_000 });
    expect(dest.delivered.length).toBe(delivered + 1);
    expect(dest.delivered.at(-1)!.body).toEqual({ text: 'needs a retry' });
    await page.goto('/console/dead');
    expect(await page.locator('table.dead').textContent()).toContain('No dead letters');
    await context.close();
  });

  it('retries all dead letters after a confirmation', async () => {
    const { context, page } = await signedIn();
    dest.failNext(400, 400);
    await postMuro(hl, { id: `evt_all_1_${Date.now()}`, type: 'message.created', data: { message: { text: 'one' } } });
    await postMuro(hl, { id: `evt_all_2_${Date.now()}`, type: 'message.created', data: { message: { text: 'two' } } });
    await page.goto('/console/dead');
    await expect.poll(async () => {
      await page.reload();
      return page.locator('table.dead tbody tr[data-run]').count();
    }, { timeout: 15_000 }).toBe(2);
    await page.getByRole('link', { name: /Retry all 2 dead runs/ }).click();
    await page.getByRole('button', { name: 'Yes, retry all' }).click();
    await page.waitForURL(/notice=retried_all/);
    expect(await page.locator('.notice').textContent()).toContain('2 dead runs queued again');
    await expect.poll(() => dest.delivered.filter((r) => ['one', 'two'].includes((r.body as { text: string }).text)).length, { timeout: 15_000 }).toBe(2);
    await context.close();
  });

  it('renders attacker-controlled data as inert text on every page', async () => {
    const { context, page } = await signedIn();
    const seen = watch(page);
    const stamp = Date.now();
    const text = '<script>window.__xss = 1; alert("xss")</script><img src=x onerror="window.__xss = 2">';
    const id = `evt_xss_${stamp}`;
    await postMuro(hl, {
      id,
      type: 'message.created',
      data: {
        visitor: { name: '"><svg onload="window.__xss = 3">', email: 'mallory@evil.example' },
        conversation: { id: 'conv_x', url: 'javascript:window.__xss = 4' },
        message: { text },
      },
    });
    // The type and id are the sender's too, and show outside any JSON.
    const oddId = `evt_"><b>${stamp}`;
    await postMuro(hl, { id: oddId, type: 'x<img src=x onerror="window.__xss = 5">', data: {} });
    await postMuro(hl, { id: `evt_sum_${stamp}`, type: 'conversation.closed', data: { conversation: { id: 'conv_x' }, summary: text } });
    const email = JSON.parse(readFileSync(new URL('../../src/sources/meru/samples/email.with-pdf.json', import.meta.url), 'utf8'));
    email.event_id = `evt_mail_${stamp}`;
    email.headers.subject = '<script>window.__xss = 6</script> contract';
    email.content = { text, html: '<img src=x onerror="window.__xss = 7"><p>hi</p>', size_bytes: 10 };
    email.attachments[0].filename = '<img src=x onerror="window.__xss = 8">.pdf';
    const body = JSON.stringify(email);
    expect((await send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, MERU_SECRET) })).status).toBe(200);

    const inert = async (name: string) => {
      await screenshot(page, name);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), name).toBeUndefined();
      expect(await page.locator('img[src="x"], svg[onload], b, a[href^="javascript:"]').count(), name).toBe(0);
    };

    // Found by the visitor's email; the list shows the odd type and id as text.
    await page.goto('/console/events?q=mallory%40evil.example');
    await page.locator(`tr[data-event="${id}"]`).waitFor({ timeout: 15_000 });
    await page.goto('/console/events');
    const odd = page.locator('tr[data-event]', { hasText: oddId });
    expect(await odd.textContent()).toContain('x<img src=x onerror="window.__xss = 5">');
    await inert('09-events-xss');

    await page.goto(`/console/events/${encodeURIComponent(id)}`);
    await page.locator('section.run.r-done').waitFor({ timeout: 15_000 });
    const payload = await page.locator('pre.json[aria-label="payload"]').textContent();
    expect(payload).toContain(JSON.stringify(text).slice(1, -1));
    // Shown as text in the request the step sent, too.
    await page.locator('table.attempts summary', { hasText: 'request' }).click();
    expect(await page.locator('table.attempts pre.json').first().textContent()).toContain('<script>window.__xss = 1');
    await inert('10-event-xss');

    await page.goto('/console/tickets');
    await page.locator('table.tickets a', { hasText: 'T-' }).first().waitFor();
    expect(await page.locator('table.tickets').textContent()).toContain('<script>window.__xss = 6</script> contract');
    await inert('11-tickets');
    await page.locator('table.tickets a', { hasText: 'T-' }).first().click();
    expect(await page.locator('article.message pre.wrap').first().textContent()).toBe(text);
    expect(await page.locator('table.attachments').textContent()).toContain('.pdf');
    await inert('12-ticket');

    await expect.poll(async () => {
      await page.goto('/console/summaries');
      return page.locator('table.summaries').textContent();
    }, { timeout: 15_000 }).toContain(text);
    await inert('13-summaries');
    expect(seen.dialogs).toEqual([]);
    await context.close();
  });

  it('updates the events list live, filters it, and lists recipes with their errors', async () => {
    const { context, page } = await signedIn();
    await page.goto('/console/events');
    const id = `evt_live_${Date.now()}`;
    await postMuro(hl, { id, type: 'conversation.opened', data: {} });
    // No reload: htmx polling brings the new row in.
    await page.locator(`tr[data-event="${id}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`tr[data-event="${id}"]`).getAttribute('data-outcome')).toBe('unmatched');
    await screenshot(page, '14-events');

    await page.getByLabel('Outcome').selectOption('dead');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/outcome=dead/);
    expect(await page.locator(`tr[data-event="${id}"]`).count()).toBe(0);
    await page.getByLabel('Type').fill('conversation.*');
    await page.getByLabel('Outcome').selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/type=conversation/);
    const types = await page.locator('tbody#event-rows tr[data-event] td:nth-child(3) code').allTextContents();
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t.startsWith('conversation.'))).toBe(true);
    expect(await page.locator(`tr[data-event="${id}"]`).count()).toBe(1);

    await nav(page, 'Recipes').click();
    const forward = page.locator('tr[data-recipe="forward"]');
    expect(await forward.textContent()).toContain('muro/message.created');
    expect(await forward.textContent()).toMatch(/done\s*\d+/);
    expect(await page.locator('section.problems').textContent()).toMatch(/broken\.yaml:5:5: .*no_such_action/);
    await screenshot(page, '15-recipes');
    await forward.getByRole('link', { name: 'forward' }).click();
    expect(await page.locator('table.runs-table tbody tr').count()).toBeGreaterThan(3);
    await screenshot(page, '16-recipe-runs');

    // The overview charts what this instance received and ran.
    await nav(page, 'Overview').click();
    const webhooks = page.locator('figure.chart', { hasText: 'Webhooks per minute' });
    expect(await webhooks.locator('ul.legend').textContent()).toContain('muro accepted');
    expect(await webhooks.locator('svg rect').count()).toBeGreaterThan(0);
    expect(await page.locator('figure.chart', { hasText: 'Runs finished' }).locator('ul.legend').textContent()).toContain('runs done');
    await screenshot(page, '17-overview-busy');

    await context.close();
  });

  it('refuses writes without the CSRF token or from another origin', async () => {
    const { context, page } = await signedIn();
    const csrf = await page.locator('form.signout input[name=_csrf]').inputValue();
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      context.request.post(`${hl.url}/console/dead/retry-all`, { headers, form, maxRedirects: 0 });
    expect((await post({}, {})).status()).toBe(403);
    expect((await post({}, { _csrf: 'forged' })).status()).toBe(403);
    expect((await post({ origin: 'http://evil.example' }, { _csrf: csrf })).status()).toBe(403);
    expect((await post({ origin: hl.url }, { _csrf: csrf })).status()).toBe(303);
    await context.close();
  });

  it('works without JavaScript where it is a plain list', async () => {
    const { context, page } = await signedIn({ javaScriptEnabled: false });
    await nav(page, 'Events').click();
    expect(await page.locator('tbody#event-rows tr[data-event]').count()).toBeGreaterThan(3);
    await nav(page, 'Dead letters').click();
    expect(await page.locator('h1').textContent()).toBe('Dead letters');
    await nav(page, 'Recipes').click();
    expect(await page.locator('tr[data-recipe="forward"]').count()).toBe(1);
    await context.close();
  });
});
