import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { configSchema } from '../../src/config/schema.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { send } from '../helpers/server.ts';
import { browserMissing, launchChromium } from './browser.ts';
import { shippedNginxDirectives, startProxy, type Directives, type Proxy } from './proxy.ts';

// The console behind a reverse proxy that rewrites Host, as nginx's `proxy_pass http://hookline;`
// does: a real proxy on a real socket in front of a real hookline, and the browser (or plain HTTP
// with the Origin header a browser sends) talking to the proxy only.

const TOKEN = 'console-proxy-token-5e7d';
let hl: Hookline | undefined;
let proxy: Proxy | undefined;
let cleanup: (() => void) | undefined;

afterEach(async () => {
  await hl?.close();
  await proxy?.close();
  cleanup?.();
  hl = proxy = cleanup = undefined;
});

/** hookline behind a proxy forwarding with `directives`; `publicUrl: true` sets server.public_url to the proxy's URL. */
async function behindProxy(directives: Directives, options: { publicUrl?: true | string } = {}): Promise<{ hl: Hookline; proxy: Proxy }> {
  proxy = await startProxy(directives);
  const temp = tempDir('hookline-proxy-');
  cleanup = temp.cleanup;
  const publicUrl = options.publicUrl === true ? `${proxy.url}/` : options.publicUrl;
  const server = { host: '127.0.0.1', port: 0, ...(publicUrl ? { public_url: publicUrl } : {}) };
  hl = await startHookline({ config: testConfig(temp.dir, { admin: { token: TOKEN }, server } as never), worker: false });
  proxy.upstream = hl.url;
  return { hl, proxy };
}

const form = 'application/x-www-form-urlencoded';
/** Signs in through the proxy as a browser on `origin` would; the session cookie, or the refusal. */
async function signIn(via: Proxy, origin: string) {
  const answer = await send(`${via.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': form, origin } });
  return { status: answer.status, text: answer.text, cookie: String(answer.headers['set-cookie'] ?? '').split(';')[0]! };
}

describe('the shipped docker-compose nginx config', () => {
  it('passes the browser’s Host, and X-Forwarded-Host, -Proto and -For', async () => {
    const { proxy } = await behindProxy(shippedNginxDirectives());
    const host = new URL(proxy.url).host;
    await send(`${proxy.url}/healthz`, { method: 'GET', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxy.lastForwarded).toMatchObject({
      host,
      'x-forwarded-host': host,
      'x-forwarded-proto': 'http',
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
    });
  });

  it('lets an operator sign in and write; another site still cannot', async () => {
    const { proxy } = await behindProxy(shippedNginxDirectives());
    const signedIn = await signIn(proxy, proxy.url);
    expect(signedIn.status).toBe(303);
    const page = await send(`${proxy.url}/console/dead`, { method: 'GET', headers: { cookie: signedIn.cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const write = (origin: string) =>
      send(`${proxy.url}/console/dead/retry-all`, { body: `_csrf=${encodeURIComponent(csrf)}`, headers: { 'content-type': form, cookie: signedIn.cookie, origin } });
    expect((await write(proxy.url)).status).toBe(303);
    expect((await write('http://evil.example')).status).toBe(403);
    expect((await signIn(proxy, 'http://evil.example')).status).toBe(403);
  });
});

describe('a proxy you do not control: rewrites Host, passes no forwarded header', () => {
  it('refuses the console’s own pages with a 403 that says what to configure', async () => {
    const { proxy } = await behindProxy([]);
    const refused = await signIn(proxy, proxy.url);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('server.public_url');
    expect(refused.text).toContain('X-Forwarded-Host');
  });

  it('works with server.public_url, which is the only origin it adds', async () => {
    const { proxy } = await behindProxy([], { publicUrl: true });
    expect((await signIn(proxy, proxy.url)).status).toBe(303);
    expect((await signIn(proxy, 'http://evil.example')).status).toBe(403);
    // Same host, another scheme or port: not the configured origin.
    expect((await signIn(proxy, proxy.url.replace('http:', 'https:'))).status).toBe(403);
    expect((await signIn(proxy, 'http://127.0.0.1:1')).status).toBe(403);
  });

  it('an https public_url (TLS ended before the proxy) makes the session cookie Secure', async () => {
    const { proxy } = await behindProxy([], { publicUrl: 'https://hooks.example.com' });
    const signedIn = await send(`${proxy.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': form, origin: 'https://hooks.example.com' } });
    expect(signedIn.status).toBe(303);
    expect(String(signedIn.headers['set-cookie'])).toMatch(/; Secure$/);
  });
});

describe('server.public_url', () => {
  const parse = (public_url: string) => configSchema.safeParse({ server: { public_url } });
  it('is an http(s) origin; a path is refused, since the console links to /console/…', () => {
    expect(parse('https://Hooks.example.com:443/')).toMatchObject({ success: true, data: { server: { public_url: 'https://hooks.example.com' } } });
    expect(parse('')).toMatchObject({ success: true, data: { server: { public_url: undefined } } });
    expect(parse('https://example.com/hookline').error?.issues[0]?.message).toMatch(/without a path/);
    expect(parse('hooks.example.com').error?.issues[0]?.message).toMatch(/expected an http:\/\/ or https:\/\/ URL/);
  });
});

describe.skipIf(browserMissing)('in Chromium, through the shipped nginx config', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in, and signs out (a CSRF-checked write)', async () => {
    const { proxy } = await behindProxy(shippedNginxDirectives());
    const context = await browser.newContext({ baseURL: proxy.url });
    const page = await context.newPage();
    await page.goto('/console');
    await page.waitForURL(/\/console\/login/);
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console$/);
    expect(await page.locator('h1').textContent()).toBe('Overview');
    await page.locator('form.signout button').click();
    await page.waitForURL(/\/console\/login\?notice=signed_out/);
    await context.close();
  });
});
