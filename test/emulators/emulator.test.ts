// The shared emulator core on its own (raw fetch is fine here: no SDK is being stood in for).
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from './emulator.ts';

let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(): Promise<Emulator> {
  emulator = await startEmulator({
    name: 'core',
    handler: (req) => (req.path === '/bad' ? { status: 400, body: { error: 'bad' } } : { status: 200, body: { echo: req.body } }),
    failureResponse: (failure) => ({ status: failure.status, body: { default: failure.status } }),
  });
  return emulator;
}

const post = (e: Emulator, path: string, body: unknown) =>
  fetch(`${e.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('emulator core', () => {
  it('records method, path, query, headers and parsed body; splits requests and delivered', async () => {
    const e = await start();
    expect(e.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await post(e, '/x?a=1&a=2&b=3', { n: 1 });
    expect(await ok.json()).toEqual({ echo: { n: 1 } });
    await post(e, '/bad', {});
    const [first] = e.requests;
    expect(first).toMatchObject({ method: 'POST', path: '/x', query: { a: ['1', '2'], b: '3' }, body: { n: 1 }, status: 200 });
    expect(first?.headers['content-type']).toBe('application/json');
    expect(e.requests.map((r) => r.status)).toEqual([200, 400]);
    expect(e.delivered.map((r) => r.path)).toEqual(['/x']);
  });

  it('consumes scripted failures one per request, in order, with Retry-After and body overrides', async () => {
    const e = await start();
    e.failNext({ status: 429, retryAfter: 12 }, 503, { status: 500, body: 'plain' });
    const first = await post(e, '/x', {});
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('12');
    expect(await first.json()).toEqual({ default: 429 });
    const second = await post(e, '/x', {});
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBeNull();
    await second.arrayBuffer();
    const third = await post(e, '/x', {});
    expect(await third.text()).toBe('plain');
    expect(e.pendingFailures()).toBe(0);
    expect((await post(e, '/x', {})).status).toBe(200);
  });

  it('setDown answers 503 or destroys the socket until cleared', async () => {
    const e = await start();
    e.setDown(true);
    expect((await post(e, '/x', {})).status).toBe(503);
    e.setDown(true, 'destroy');
    await expect(post(e, '/x', {})).rejects.toThrow(TypeError);
    e.setDown(false);
    expect((await post(e, '/x', {})).status).toBe(200);
    expect(e.requests.map((r) => r.status)).toEqual([503, 0, 200]);
  });

  it('waitFor counts only 2xx answers; waitForRequests counts every answer; reset clears; close rejects waiters', async () => {
    const e = await start();
    const delivered = e.waitFor(1);
    const answered = e.waitForRequests(2);
    await post(e, '/bad', {});
    await post(e, '/x', { n: 2 });
    expect((await delivered).map((r) => r.body)).toEqual([{ n: 2 }]);
    expect((await answered).map((r) => r.status)).toEqual([400, 200]);

    e.failNext(500);
    e.setDown(true);
    e.reset();
    expect(e.requests).toHaveLength(0);
    expect(e.delivered).toHaveLength(0);
    expect(e.pendingFailures()).toBe(0);
    expect((await post(e, '/x', {})).status).toBe(200);

    const pending = e.waitFor(5, 10_000);
    await e.close();
    emulator = undefined;
    await expect(pending).rejects.toThrow('core emulator closed');
  });

  it('parses a Slack-style form payload and flags an unparsable body', async () => {
    const e = await start();
    await fetch(`${e.origin}/f`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ payload: JSON.stringify({ text: 'hi' }) }).toString(),
    });
    await fetch(`${e.origin}/g`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(e.requests.map((r) => [r.body, r.bodyParseError])).toEqual([[{ text: 'hi' }, false], [undefined, true]]);
  });
});
