// PRODUCT §1 rule 0: the body read timeout, the budget of body bytes being read at once, and the
// socket timeouts, on real sockets with short settings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MURO_SECRET } from '../helpers/env.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { muroEvent, muroHeaders, nowSec } from '../helpers/sign.ts';
import { rawConnect, requestHead, within, type RawConnection } from './raw-http.ts';

const KB = 1024;
const readTimeout = 600;
const prompt = 2_000;

let hl: TestHookline;
beforeAll(async () => {
  hl = await startTestHookline({
    overrides: {
      server: { body_limit: '600kb', body_budget: '1mb', read_timeout: `${readTimeout}ms`, headers_timeout: '500ms', keep_alive_timeout: '500ms' },
    },
  });
});
afterAll(() => hl.stop());

/** A well-formed muro signature header with a fresh timestamp, but made up: it passes rule 0's check. */
const forged = () => ({ 'x-muro-signature': `t=${nowSec()},v1=${'ab'.repeat(32)}` });

/** A forged muro POST announcing `length` bytes; its head is sent, its body is not. */
function announce(length: number, headers: Record<string, string> = forged()): RawConnection {
  return rawConnect(hl.url, requestHead('POST', '/muro/webhook', { 'content-type': 'application/json', 'content-length': length, ...headers }));
}

function chunked(headers: Record<string, string> = forged()): RawConnection {
  return rawConnect(hl.url, requestHead('POST', '/muro/webhook', { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers }));
}
const chunk = (data: Buffer | string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;

/** Whether a connection is still waiting, unanswered, after the server had a moment to act on it. */
async function unanswered(connection: RawConnection): Promise<boolean> {
  const probe = await send(`${hl.url}/healthz`, { method: 'GET' }); // a full round trip through the server's event loop
  expect(probe.status).toBe(200);
  return connection.isOpen() && (await Promise.race([connection.answer.then(() => false), Promise.resolve(true)]));
}

/** Opens connections announcing `length` until one is admitted (a reservation released by a close is seen a moment later). */
async function admitted(length: number): Promise<RawConnection> {
  const deadline = performance.now() + prompt;
  for (;;) {
    const connection = announce(length);
    if (await unanswered(connection)) return connection;
    const answer = await connection.answer;
    expect(answer.status).toBe(503);
    if (performance.now() > deadline) throw new Error(`no ${length}-byte body admitted within ${prompt} ms`);
  }
}

describe('the body read timeout (server.read_timeout)', () => {
  it('answers 408 with a one-line JSON error and closes when the body stops arriving', async () => {
    const connection = announce(500 * KB);
    connection.socket.write(Buffer.alloc(100 * KB, 0x20));
    const answer = await within(connection.answer, readTimeout + prompt, 'no 408');
    expect(answer.status).toBe(408);
    expect(answer.json).toEqual({ ok: false, code: 'HL_BODY_TIMEOUT', error: expect.stringContaining('read_timeout') });
    expect(answer.body.trim().split('\n')).toHaveLength(1);
    expect(answer.headers.connection).toBe('close');
    const closedAfter = await within(connection.closed, prompt, 'the connection was left open');
    expect(closedAfter).toBeGreaterThanOrEqual(readTimeout - 50);
  });

  it('answers 408 when none of the body arrives', async () => {
    const connection = announce(10);
    expect((await within(connection.answer, readTimeout + prompt, 'no 408')).json).toMatchObject({ code: 'HL_BODY_TIMEOUT' });
    await within(connection.closed, prompt, 'the connection was left open');
  });
});

describe('socket timeouts', () => {
  it('closes a connection that sends nothing (server.headers_timeout)', async () => {
    const silent = rawConnect(hl.url);
    await within(silent.closed, 500 + prompt, 'a silent connection was kept open');
  });

  it('closes a connection whose request head never ends', async () => {
    const slow = rawConnect(hl.url, 'POST /muro/webhook HTTP/1.1\r\nHost: x\r\n');
    await within(slow.closed, 500 + prompt, 'a half-sent head was kept open');
  });

  it('closes an idle keep-alive connection (server.keep_alive_timeout)', async () => {
    const connection = rawConnect(hl.url, requestHead('GET', '/healthz', {}));
    expect((await connection.answer).status).toBe(200);
    await within(connection.closed, 500 + prompt, 'an idle keep-alive connection was kept open');
  });
});

describe('the budget of body bytes being read (server.body_budget)', () => {
  it('answers 503 with Retry-After at once, and closes, when a declared body does not fit', async () => {
    const [a, b] = [announce(600 * KB), announce(600 * KB)];
    // 1 MB holds one 600 KB body, not two: whichever came second is refused without being read.
    const refused = await within(Promise.any([a.answer.then(() => a), b.answer.then(() => b)]), prompt, 'no 503 at once');
    const answer = await refused.answer;
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ ok: false, code: 'HL_BODY_BUDGET_EXHAUSTED' });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(answer.headers.connection).toBe('close');
    await within(refused.closed, prompt, 'the refused connection was left open');
    const holder = refused === a ? b : a;
    // Small signed events still fit in what is left, and are acknowledged meanwhile.
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify(muroEvent(`evt_budget_${process.pid}_${i}`));
      expect((await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) })).status).toBe(200);
    }
    expect(await unanswered(holder)).toBe(true);
    holder.socket.destroy();
  });

  it('cuts off a chunked body that grows past the budget with 503', async () => {
    const holder = await admitted(600 * KB);
    const growing = chunked();
    for (let i = 0; i < 10 && growing.isOpen(); i++) growing.socket.write(chunk(Buffer.alloc(64 * KB, 0x20)));
    const answer = await within(growing.answer, prompt, 'no 503 for the chunked body');
    expect(answer).toMatchObject({ status: 503, json: { code: 'HL_BODY_BUDGET_EXHAUSTED' } });
    await within(growing.closed, prompt, 'the chunked connection was left open');
    holder.socket.destroy();
  });

  it('answers 413 and closes when a chunked body outgrows server.body_limit', async () => {
    const growing = chunked();
    for (let i = 0; i < 12 && growing.isOpen(); i++) growing.socket.write(chunk(Buffer.alloc(64 * KB, 0x20)));
    const answer = await within(growing.answer, prompt, 'no 413 for the chunked body');
    expect(answer).toMatchObject({ status: 413, json: { code: 'HL_BODY_TOO_LARGE' } });
    await within(growing.closed, prompt, 'the connection was left open');
  });

  it('accepts a signed chunked body that fits', async () => {
    const body = JSON.stringify(muroEvent(`evt_chunked_${process.pid}`));
    const connection = chunked(muroHeaders(body, MURO_SECRET));
    connection.socket.write(chunk(body.slice(0, 10)));
    connection.socket.write(`${chunk(body.slice(10))}0\r\n\r\n`);
    expect((await within(connection.answer, prompt, 'no answer')).json).toMatchObject({ ok: true });
    connection.socket.destroy();
  });

  it('releases a reservation on every path: answered, aborted, timed out, cut off', async () => {
    // Answered: five 400 KB bodies one after the other each fit in 1 MB only if the last one was released.
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify(muroEvent(`evt_release_${process.pid}_${i}`, 'message.created', { pad: 'x'.repeat(400 * KB) }));
      expect((await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) })).status).toBe(200);
      expect((await send(`${hl.url}/muro/webhook`, { body: 'x'.repeat(400 * KB), headers: forged() })).status).toBe(401);
    }
    // Aborted by the client.
    const aborted = await admitted(600 * KB);
    aborted.socket.destroy();
    // Timed out.
    const timedOut = await admitted(600 * KB);
    expect((await within(timedOut.answer, readTimeout + prompt, 'no 408')).status).toBe(408);
    // Cut off: a chunked body over the budget.
    const holder = await admitted(600 * KB);
    const growing = chunked();
    for (let i = 0; i < 10 && growing.isOpen(); i++) growing.socket.write(chunk(Buffer.alloc(64 * KB, 0x20)));
    expect((await growing.answer).status).toBe(503);
    holder.socket.destroy();
    // After all that the whole budget is free again: two 500 KB bodies are admitted at once, read and verified.
    const both = [await admitted(500 * KB), await admitted(500 * KB)];
    for (const c of both) c.socket.write(Buffer.alloc(500 * KB, 0x20));
    for (const c of both) expect((await within(c.answer, prompt, 'no answer')).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
  });
});
