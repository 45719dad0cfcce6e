import { request } from 'node:http';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { manualClock } from '../../src/util/clock.ts';
import { MERU_SECRET, MURO_SECRET } from '../helpers/env.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { hmacHex, meruHeaders, muroEvent, muroHeaders, nowSec } from '../helpers/sign.ts';

let hl: TestHookline;
let muroUrl: string;
let meruUrl: string;
let seq = 0;
const uid = (p = 'evt') => `${p}_${process.pid}_${++seq}`;

function postMuro(event: Record<string, unknown>, opts: { secret?: string; t?: number; headers?: Record<string, string> } = {}) {
  const body = JSON.stringify(event);
  return send(muroUrl, { body, headers: { ...muroHeaders(body, opts.secret ?? MURO_SECRET, { t: opts.t }), ...opts.headers } });
}

beforeAll(async () => {
  hl = await startTestHookline({ overrides: { sources: { muro: { secrets: ['muro-old-secret', MURO_SECRET] } } } });
  muroUrl = `${hl.url}/muro/webhook`;
  meruUrl = `${hl.url}/meru/webhook`;
});
afterAll(() => hl.stop());

describe('accepting', () => {
  it('acknowledges a signed muro event with its id and stores it with its headers, minus the signature', async () => {
    const id = uid();
    const answer = await postMuro(muroEvent(id, 'conversation.opened', { test: true }));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true, id });
    const [stored] = await hl.store.read.receipts(id, 'muro');
    expect(stored).toMatchObject({ source: 'muro', eventId: id, type: 'conversation.opened', test: true, generation: 0 });
    expect(JSON.parse(stored!.body).data).toEqual({ test: true });
    expect(stored!.headers['x-muro-signature']).toBeUndefined();
    expect(stored!.headers['content-type']).toBe('application/json');
  });

  it('takes the muro id and type from the signed body, never from the unsigned x-muro-event-id / x-muro-event', async () => {
    const bodyId = uid('body');
    const body = JSON.stringify(muroEvent(bodyId, 'message.created'));
    const answer = await send(muroUrl, { body, headers: muroHeaders(body, MURO_SECRET, { id: uid('hdr'), type: 'conversation.closed' }) });
    expect(answer.json).toEqual({ ok: true, id: bodyId });
    const [stored] = await hl.store.read.receipts(bodyId);
    expect(stored?.type).toBe('message.created');
  });

  it('verifies with any configured secret during a rotation', async () => {
    expect((await postMuro(muroEvent(uid()), { secret: 'muro-old-secret' })).status).toBe(200);
    expect((await postMuro(muroEvent(uid()), { secret: 'not-configured' })).status).toBe(401);
  });

  it('acknowledges a signed MERU email by its event_id, typed email.received', async () => {
    const id = uid('evt_meru');
    const body = JSON.stringify({ event_id: id, headers: { subject: 'hi' }, attachments: [] });
    const answer = await send(meruUrl, { body, headers: meruHeaders(body, MERU_SECRET) });
    expect(answer).toMatchObject({ status: 200, json: { ok: true, id } });
    expect((await hl.store.read.receipts(id, 'meru'))[0]?.type).toBe('email.received');
  });

  it('accepts the exact bytes whatever content type is declared (the signature is what counts)', async () => {
    const body = JSON.stringify(muroEvent(uid()));
    const plain = await send(muroUrl, { body, headers: { ...muroHeaders(body, MURO_SECRET), 'content-type': 'text/plain' } });
    expect(plain.status).toBe(200);
    const body2 = JSON.stringify(muroEvent(uid()));
    const headers: Record<string, string> = muroHeaders(body2, MURO_SECRET);
    delete headers['content-type'];
    expect((await send(muroUrl, { body: body2, headers })).status).toBe(200);
  });
});

describe('rejecting, and storing nothing', () => {
  async function expectRejected(answer: Promise<{ status: number; json: any; text: string }>, status: number, code: string) {
    const before = await hl.store.read.eventCount();
    const a = await answer;
    expect(a.status).toBe(status);
    expect(a.json).toMatchObject({ ok: false, code });
    expect(a.text.trim().split('\n')).toHaveLength(1);
    expect(await hl.store.read.eventCount()).toBe(before);
  }

  it('401 for a missing, malformed, wrong or stale signature', async () => {
    const body = JSON.stringify(muroEvent(uid()));
    await expectRejected(send(muroUrl, { body, headers: { 'content-type': 'application/json' } }), 401, 'HL_SIGNATURE_MISSING');
    await expectRejected(send(muroUrl, { body, headers: { 'x-muro-signature': 'sha256=abc' } }), 401, 'HL_SIGNATURE_MALFORMED');
    await expectRejected(postMuro(muroEvent(uid()), { secret: 'wrong' }), 401, 'HL_SIGNATURE_MISMATCH');
    await expectRejected(postMuro(muroEvent(uid()), { t: nowSec() - 301 }), 401, 'HL_TIMESTAMP_STALE');
    await expectRejected(postMuro(muroEvent(uid()), { t: nowSec() + 600 }), 401, 'HL_TIMESTAMP_STALE');
    const meruBody = JSON.stringify({ event_id: uid() });
    await expectRejected(send(meruUrl, { body: meruBody, headers: muroHeaders(meruBody, MERU_SECRET) }), 401, 'HL_SIGNATURE_MISSING');
    await expectRejected(send(meruUrl, { body: meruBody, headers: meruHeaders(meruBody, MURO_SECRET) }), 401, 'HL_SIGNATURE_MISMATCH');
  });

  it('401 for unsigned garbage and empty bodies; 400 when signed but not JSON or not UTF-8', async () => {
    await expectRejected(send(muroUrl, { body: Buffer.from([0xff, 0x00, 0x13, 0x37]) }), 401, 'HL_SIGNATURE_MISSING');
    await expectRejected(send(muroUrl, { body: '' }), 401, 'HL_SIGNATURE_MISSING');
    const garbage = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await expectRejected(send(muroUrl, { body: garbage, headers: muroHeaders(garbage, MURO_SECRET) }), 400, 'HL_BODY_NOT_UTF8');
    const badUtf8 = Buffer.concat([Buffer.from('{"id":"x","text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    await expectRejected(send(muroUrl, { body: badUtf8, headers: muroHeaders(badUtf8, MURO_SECRET) }), 400, 'HL_BODY_NOT_UTF8');
    for (const body of ['', 'not json', '[1,2]', '"text"', 'null', '{"id":']) {
      await expectRejected(send(muroUrl, { body, headers: muroHeaders(body, MURO_SECRET) }), 400, 'HL_BODY_NOT_JSON');
    }
  });

  it('400 when a signed event has no id', async () => {
    const body = JSON.stringify({ type: 'message.created', data: {} });
    await expectRejected(send(muroUrl, { body, headers: muroHeaders(body, MURO_SECRET) }), 400, 'HL_EVENT_ID_MISSING');
    const meru = JSON.stringify({ id: 'not-the-meru-field' });
    await expectRejected(send(meruUrl, { body: meru, headers: meruHeaders(meru, MERU_SECRET) }), 400, 'HL_EVENT_ID_MISSING');
  });

  it('404 elsewhere and 405 for other methods on a webhook path', async () => {
    const notFound = await send(`${hl.url}/github/webhook`, { body: '{}' });
    expect(notFound).toMatchObject({ status: 404, json: { ok: false, code: 'HL_NOT_FOUND' } });
    const get = await send(muroUrl, { method: 'GET' });
    expect(get).toMatchObject({ status: 405, json: { ok: false, code: 'HL_METHOD_NOT_ALLOWED' } });
    expect(get.headers.allow).toBe('POST');
    expect((await send(meruUrl, { method: 'PUT', body: '{}' })).status).toBe(405);
  });

  it('413 for a 30 MB body over the default 25 MB limit, 431 for huge headers, and stays healthy', async () => {
    const big = Buffer.alloc(30 * 1024 * 1024, 0x61);
    await expectRejected(send(muroUrl, { body: big, headers: muroHeaders(big, MURO_SECRET) }), 413, 'HL_BODY_TOO_LARGE');
    const huge = await send(muroUrl, { body: '{}', headers: { 'x-filler': 'a'.repeat(64 * 1024) } }).catch((e: Error) => e);
    if (huge instanceof Error) expect(huge.message).toMatch(/socket hang up|ECONNRESET|EPIPE/);
    else expect(huge.status).toBe(431);
    expect((await send(`${hl.url}/healthz`, { method: 'GET' })).status).toBe(200);
    expect((await postMuro(muroEvent(uid()))).status).toBe(200);
  });
});

describe('deduplication', () => {
  it('answers a second delivery of the same id as a duplicate and stores it once', async () => {
    const id = uid();
    expect((await postMuro(muroEvent(id))).json).toEqual({ ok: true, id });
    expect((await postMuro(muroEvent(id))).json).toEqual({ ok: true, duplicate: true });
    expect(await hl.store.read.receipts(id)).toHaveLength(1);
  });

  it('50 concurrent copies of one event: exactly one ok, 49 duplicates, one stored', async () => {
    const id = uid();
    const body = JSON.stringify(muroEvent(id));
    const headers = muroHeaders(body, MURO_SECRET);
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(muroUrl, { body, headers })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.json.id === id)).toHaveLength(1);
    expect(answers.filter((a) => a.json.duplicate === true)).toHaveLength(49);
    expect(await hl.store.read.receipts(id)).toHaveLength(1);
  });

  it('dedups per source: the same id from muro and MERU are two events', async () => {
    const id = uid('shared');
    expect((await postMuro(muroEvent(id))).json).toEqual({ ok: true, id });
    const body = JSON.stringify({ event_id: id });
    expect((await send(meruUrl, { body, headers: meruHeaders(body, MERU_SECRET) })).json).toEqual({ ok: true, id });
  });
});

describe('metrics and health', () => {
  it('counts received events by source and outcome and records ack latency', async () => {
    const text = (await send(`${hl.url}/metrics`, { method: 'GET' })).text;
    expect(text).toMatch(/hookline_events_received_total\{source="muro",outcome="accepted"\} \d+/);
    expect(text).toMatch(/hookline_events_received_total\{source="muro",outcome="duplicate"\} \d+/);
    expect(text).toMatch(/hookline_events_received_total\{source="muro",outcome="signature_mismatch"\} \d+/);
    expect(text).toMatch(/hookline_events_received_total\{source="muro",outcome="body_too_large"\} \d+/);
    expect(text).toMatch(/hookline_ack_duration_seconds_count\{source="muro"\} \d+/);
  });

  it('healthz and readyz answer 200 when the store works', async () => {
    expect((await send(`${hl.url}/healthz`, { method: 'GET' })).json).toEqual({ ok: true });
    expect((await send(`${hl.url}/readyz`, { method: 'GET' })).json).toMatchObject({ ok: true, store: 'sqlite' });
  });
});

describe('with an injected clock', () => {
  it('accepts an id again once its dedup TTL has passed, and purges expired records', async () => {
    const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
    const local = await startTestHookline({ clock });
    try {
      const url = `${local.url}/muro/webhook`;
      const id = 'evt_ttl';
      const post = () => {
        const body = JSON.stringify(muroEvent(id));
        return send(url, { body, headers: muroHeaders(body, MURO_SECRET, { t: Math.floor(clock.now() / 1000) }) });
      };
      expect((await post()).json).toEqual({ ok: true, id });
      clock.advance(24 * 3600_000 - 1);
      expect((await post()).json).toEqual({ ok: true, duplicate: true });
      clock.advance(1);
      expect((await post()).json).toEqual({ ok: true, id });
      expect(await local.store.read.receipts(id)).toHaveLength(2);

      clock.advance(24 * 3600_000);
      expect(await local.store.inbox.purgeSeen(clock.now(), 100)).toBe(1);
      expect(await local.store.inbox.purgeSeen(clock.now(), 100)).toBe(0);
    } finally {
      await local.stop();
    }
  });
});

describe('when the store cannot write', () => {
  it('answers 503, stores nothing, and recovers when the store does', async () => {
    const local = await startTestHookline();
    const blocker = new Database(`${local.dir}/hookline.db`);
    try {
      const url = `${local.url}/muro/webhook`;
      blocker.exec('BEGIN IMMEDIATE'); // another writer holds the lock: writes fail after the busy timeout
      const body = JSON.stringify(muroEvent('evt_blocked'));
      const answer = await send(url, { body, headers: muroHeaders(body, MURO_SECRET) });
      expect(answer).toMatchObject({ status: 503, json: { ok: false, code: 'HL_STORE_UNAVAILABLE' } });
      blocker.exec('ROLLBACK');
      expect(await local.store.read.receipts('evt_blocked')).toHaveLength(0);
      const retry = await send(url, { body, headers: muroHeaders(body, MURO_SECRET) });
      expect(retry.json).toEqual({ ok: true, id: 'evt_blocked' });
    } finally {
      blocker.close();
      await local.stop();
    }
  });
});

describe('logs', () => {
  it('never contain bodies or secrets at info level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const local = await startTestHookline({ logger: createLogger('info', sink) });
    try {
      const url = `${local.url}/muro/webhook`;
      const body = JSON.stringify(muroEvent('evt_log', 'message.created', { text: 'TOP-SECRET-BODY-TEXT' }));
      await send(url, { body, headers: muroHeaders(body, MURO_SECRET) });
      await send(url, { body, headers: muroHeaders(body, 'wrong') });
      await send(url, { body: 'not json', headers: muroHeaders('not json', MURO_SECRET) });
    } finally {
      await local.stop();
    }
    const all = lines.join('');
    expect(all).toContain('webhook rejected');
    expect(all).not.toContain('TOP-SECRET-BODY-TEXT');
    expect(all).not.toContain(MURO_SECRET);
    expect(all).not.toContain(hmacHex(MURO_SECRET, 1, '').slice(0, 0) || 'v1=');
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight when closing, then refuses new connections', async () => {
    const local = await startTestHookline();
    const url = new URL(`${local.url}/muro/webhook`);
    const body = Buffer.from(JSON.stringify(muroEvent('evt_inflight')));
    const headers = { ...muroHeaders(body, MURO_SECRET), 'content-length': String(body.length) };
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 10)); // half the body now ...
      setTimeout(() => {
        closing = local.close();
        setTimeout(() => req.end(body.subarray(10)), 100); // ... the rest after close() began
      }, 100);
    });
    let closing: Promise<void> | undefined;
    const result = await answer;
    await closing;
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toEqual({ ok: true, id: 'evt_inflight' });
    await expect(send(`${local.url}/healthz`, { method: 'GET' })).rejects.toThrow();
    // The event got a 2xx, so it must be in the file after shutdown.
    const db = new Database(`${local.dir}/hookline.db`, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM events WHERE event_id = ?').pluck().get('evt_inflight')).toBe(1);
    db.close();
    await local.stop();
  });
});
