import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiverUrl } from '../../src/cli/send.ts';
import { openTunnel, tunnelSummary, type ForwardOptions } from '../../src/cli/tunnel.ts';
import { bin, spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { tempDir, testConfig } from '../helpers/env.ts';

const run = promisify(execFile);

/** A local port nothing listens on: an ngrok endpoint that cannot be reached. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const oneLine = (text: string) => expect(text).not.toMatch(/\n/);

describe('openTunnel', () => {
  const localUrl = 'http://127.0.0.1:3000';

  it('without NGROK_AUTHTOKEN: says where to get one, loads nothing', async () => {
    let loaded = false;
    const tunnel = await openTunnel({ localUrl, env: {}, load: async () => ((loaded = true), undefined) });
    expect(tunnel).toEqual({ problem: expect.stringContaining('NGROK_AUTHTOKEN is not set. Get your authtoken at https://dashboard.ngrok.com/get-started/your-authtoken') });
    oneLine((tunnel as { problem: string }).problem);
    expect((tunnel as { problem: string }).problem).toMatch(/hookline keeps serving locally\.$/);
    expect(loaded).toBe(false);
  });

  it('without @ngrok/ngrok installed: says how to install it or run ngrok yourself', async () => {
    const tunnel = await openTunnel({ localUrl, env: { NGROK_AUTHTOKEN: 'tok' }, load: async () => undefined });
    expect(tunnel).toEqual({ problem: expect.stringMatching(/@ngrok\/ngrok is not installed .* npm install @ngrok\/ngrok, or run `ngrok http 3000` yourself\. hookline keeps serving locally\.$/) });
  });

  it('through the real @ngrok/ngrok, to an unreachable ngrok endpoint: ngrok\'s reason in one line', async () => {
    const tunnel = await openTunnel({ localUrl, env: { NGROK_AUTHTOKEN: 'not-a-real-token', NGROK_SERVER_ADDR: `127.0.0.1:${await closedPort()}` } });
    expect(tunnel).toEqual({ problem: expect.stringMatching(/^no tunnel: ngrok said: failed to connect session: .*\. Check your network and NGROK_AUTHTOKEN, or run `ngrok http 3000` yourself\. hookline keeps serving locally\.$/) });
    oneLine((tunnel as { problem: string }).problem);
  });

  it('with a stubbed ngrok: forwards to the local port with the token and the reserved domain', async () => {
    const calls: ForwardOptions[] = [];
    let closed = false;
    const tunnel = await openTunnel({
      localUrl,
      env: { NGROK_AUTHTOKEN: ' tok_123 ' },
      domain: 'hooks-dev.ngrok.app',
      load: async () => async (options) => {
        calls.push(options);
        return { url: () => 'https://hooks-dev.ngrok.app', close: async () => void (closed = true) };
      },
    });
    expect(calls).toEqual([{ addr: '127.0.0.1:3000', authtoken: 'tok_123', forwards_to: 'hookline', domain: 'hooks-dev.ngrok.app' }]);
    expect(tunnel).toMatchObject({ url: 'https://hooks-dev.ngrok.app' });
    await (tunnel as { close(): Promise<void> }).close();
    expect(closed).toBe(true);
  });

  it('a stubbed ngrok that refuses the token: the reason and which setting to check', async () => {
    const refused = Object.assign(new Error('authentication failed: The authtoken you specified is invalid'), { code: 'ERR_NGROK_105' });
    const tunnel = await openTunnel({ localUrl, env: { NGROK_AUTHTOKEN: 'bad' }, load: async () => () => Promise.reject(refused) });
    expect(tunnel).toEqual({ problem: expect.stringMatching(/ngrok said: authentication failed: .* \(ERR_NGROK_105\)\. Check NGROK_AUTHTOKEN \(https:\/\/dashboard/) });
  });
});

describe('tunnelSummary', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('prints each source\'s public webhook URL (its configured path), where to paste it, and the console', () => {
    const config = testConfig(dir, { sources: { meru: { path: '/inbound/meru' } }, admin: { token: 'a-long-admin-token' } });
    const lines = tunnelSummary({ url: 'https://abc.ngrok.app', localUrl: 'http://127.0.0.1:3000', config, receiving: ['muro', 'meru'], generatedSecrets: [] });
    expect(lines).toEqual([
      "tunnel open: https://abc.ngrok.app -> http://127.0.0.1:3000 (ngrok); paste these URLs into the providers' settings:",
      "  muro webhooks:  POST https://abc.ngrok.app/muro/webhook  -> muro's webhook settings (/app/settings/webhooks)",
      "  meru webhooks:  POST https://abc.ngrok.app/inbound/meru  -> MERU's webhook URL of the address",
      '  console:         https://abc.ngrok.app/console  (sign in with admin.token)',
      '  try:  npx hookline send muro message.created --url https://abc.ngrok.app',
    ]);
  });

  it('reminds that a source on a generated secret refuses real deliveries; no console without a token', () => {
    const config = testConfig(dir);
    const lines = tunnelSummary({ url: 'https://abc.ngrok.app', localUrl: 'http://127.0.0.1:3000', config, receiving: ['muro'], generatedSecrets: ['muro'] });
    expect(lines[2]).toMatch(/set MURO_WEBHOOK_SECRET to the secret muro shows: until then its deliveries get 401/);
    expect(lines).toContain('  console:         off (no admin.token)');
  });
});

describe('hookline serve --tunnel, without the internet', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir('hookline-tunnel-');
  });
  afterAll(() => temp.cleanup());

  const serveAndCheck = async (env: NodeJS.ProcessEnv, reason: RegExp) => {
    const config = writeChildConfig(temp.dir);
    const child: Child = await spawnHookline(['serve', '--tunnel', '--config', config], { cwd: temp.dir, env, waitFor: /hookline listening on (http:\/\/\S+)[\s\S]*no tunnel: .*\n/ });
    try {
      const line = /no tunnel: .*/.exec(child.stderr())![0];
      expect(line).toMatch(reason);
      expect(line).toMatch(/hookline keeps serving locally\.$/);
      // It does: a signed event through the local URL, with `send --url <base>`.
      const sent = await run(process.execPath, [bin, 'send', 'muro', 'conversation.opened', '--config', config, '--url', child.url], { cwd: temp.dir });
      expect(sent.stdout).toMatch(/^200 \{"ok":true/);
    } finally {
      await child.stop();
    }
  };

  it('no NGROK_AUTHTOKEN: one line saying how to get one, and it keeps serving', () => serveAndCheck({ NGROK_AUTHTOKEN: '' }, /NGROK_AUTHTOKEN is not set/));

  it('an unreachable ngrok endpoint: one line with ngrok\'s reason, and it keeps serving', async () =>
    serveAndCheck({ NGROK_AUTHTOKEN: 'not-a-real-token', NGROK_SERVER_ADDR: `127.0.0.1:${await closedPort()}` }, /ngrok said: failed to connect session/));
});

describe('hookline send --url', () => {
  it('a base URL (a tunnel\'s) gets the source path; a URL with a path is used as it is', () => {
    expect(receiverUrl('https://abc.ngrok.app', '/muro/webhook')).toBe('https://abc.ngrok.app/muro/webhook');
    expect(receiverUrl('https://abc.ngrok.app/', '/meru/webhook')).toBe('https://abc.ngrok.app/meru/webhook');
    expect(receiverUrl('http://127.0.0.1:3000/custom/path', '/muro/webhook')).toBe('http://127.0.0.1:3000/custom/path');
    expect(() => receiverUrl('abc.ngrok.app', '/muro/webhook')).toThrow(/--url "abc.ngrok.app" is not a URL: give the receiver's base URL/);
  });
});
