// PRODUCT §1 rule 0: what is decided before the body, on real sockets (raw node:net, so that a body
// can be held back and the server's closing of the connection observed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MURO_SECRET } from '../helpers/env.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { meruHeaders, muroEvent, muroHeaders, nowSec } from '../helpers/sign.ts';
import { rawConnect, requestHead, within, type RawConnection } from './raw-http.ts';

const MB = 1024 * 1024;
/** Bounds each wait; generous for a loaded machine, far below "never". */
const prompt = 2_000;

let hl: TestHookline;
beforeAll(async () => {
  hl = await startTestHookline();
});
afterAll(() => hl.stop());

/** A POST of a 24 MB body whose head is sent and whose body is not. */
function held(path: string, headers: Record<string, string>, length = 24 * MB): RawConnection {
  return rawConnect(hl.url, requestHead('POST', path, { 'content-type': 'application/json', 'content-length': length, ...headers }));
}

/** A signature header of the right form and a fresh timestamp, but made up. */
const forgedMuro = (t = nowSec()) => ({ 'x-muro-signature': `t=${t},v1=${'ab'.repeat(32)}` });

async function expectRefusedAtOnce(connection: RawConnection, status: number, code: string) {
  const answer = await within(connection.answer, prompt, `no ${status} before the body`);
  expect(answer.status).toBe(status);
  expect(answer.json).toMatchObject({ ok: false, code });
  expect(answer.body.trim().split('\n')).toHaveLength(1);
  expect(answer.headers.connection).toBe('close');
  // The server closes the connection: the 24 MB that were announced are never read.
  await within(connection.closed, prompt, 'the connection was left open');
}

describe('before the body (rule 0)', () => {
  it('answers 401 at once and closes when the signature header is missing', async () => {
    await expectRefusedAtOnce(held('/muro/webhook', {}), 401, 'HL_SIGNATURE_MISSING');
    await expectRefusedAtOnce(held('/meru/webhook', {}), 401, 'HL_SIGNATURE_MISSING');
  });

  it('answers 401 at once and closes when the header is malformed', async () => {
    await expectRefusedAtOnce(held('/muro/webhook', { 'x-muro-signature': 'sha256=abc' }), 401, 'HL_SIGNATURE_MALFORMED');
    await expectRefusedAtOnce(held('/muro/webhook', { 'x-muro-signature': `t=${nowSec()},v1=abcd` }), 401, 'HL_SIGNATURE_MALFORMED');
    await expectRefusedAtOnce(held('/meru/webhook', { 'meru-signature': `t=${nowSec()},v1=${'ab'.repeat(32)}` }), 401, 'HL_SIGNATURE_MALFORMED');
  });

  it('answers 401 at once and closes when the timestamp is outside the tolerance', async () => {
    await expectRefusedAtOnce(held('/muro/webhook', forgedMuro(nowSec() - 301)), 401, 'HL_TIMESTAMP_STALE');
    await expectRefusedAtOnce(held('/muro/webhook', forgedMuro(nowSec() + 600)), 401, 'HL_TIMESTAMP_STALE');
    const t = nowSec() - 3600;
    await expectRefusedAtOnce(held('/meru/webhook', { 'meru-signature': `v1,t=${t},s=${'ab'.repeat(32)}` }), 401, 'HL_TIMESTAMP_STALE');
  });

  it('answers 404 at once on other paths, without reading the body', async () => {
    await expectRefusedAtOnce(held('/github/webhook', forgedMuro()), 404, 'HL_NOT_FOUND');
  });

  it('answers 405 at once for other methods on a webhook path', async () => {
    const put = rawConnect(hl.url, requestHead('PUT', '/muro/webhook', { 'content-length': 24 * MB }));
    await expectRefusedAtOnce(put, 405, 'HL_METHOD_NOT_ALLOWED');
  });

  it('lets the body of a well-formed, fresh header be read: a correct signature still gets 200', async () => {
    const body = JSON.stringify(muroEvent(`evt_rule0_${process.pid}`));
    const connection = held('/muro/webhook', muroHeaders(body, MURO_SECRET), Buffer.byteLength(body));
    // Nothing is answered while the body is awaited ...
    const early = await Promise.race([connection.answer.then(() => 'answered'), new Promise((r) => setImmediate(() => setImmediate(r, 'waiting')))]);
    expect(early).toBe('waiting');
    connection.socket.write(body);
    // ... and the body, once it arrives, is verified as usual.
    const answer = await within(connection.answer, prompt, 'no answer after the body');
    expect(answer).toMatchObject({ status: 200, json: { ok: true } });
    connection.socket.destroy();
  });

  it('still verifies the body: a forged but well-formed header gets 401 once the body is in', async () => {
    const body = JSON.stringify({ event_id: 'evt_forged' });
    const headers = { ...meruHeaders(body, 'whsec_not_the_secret') };
    expect((await send(`${hl.url}/meru/webhook`, { body, headers })).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
  });
});
