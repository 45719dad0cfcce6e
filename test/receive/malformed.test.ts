// PRODUCT §1 rule 4 (signed but malformed: 400, never 5xx for its own content, never failing
// another event) and identity from signed bytes only, on both store backends.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { MERU_SECRET, MURO_SECRET } from '../helpers/env.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { meruHeaders, muroEvent, muroHeaders } from '../helpers/sign.ts';

describeBackends('signed but malformed', (backend) => {
  let hl: TestHookline;
  let seq = 0;
  const uid = (p = 'evt') => `${p}_${backend.name}_${process.pid}_${++seq}`;
  beforeAll(async () => {
    hl = await startTestHookline({ backend, worker: false });
  });
  afterAll(() => hl.stop());

  const postMuro = (event: unknown, headers: Record<string, string> = {}) => {
    const body = JSON.stringify(event);
    return send(`${hl.url}/muro/webhook`, { body, headers: { ...muroHeaders(body, MURO_SECRET), ...headers } });
  };
  const postMeru = (event: unknown) => {
    const body = JSON.stringify(event);
    return send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, MERU_SECRET) });
  };

  it('identity comes from the signed body: a replay with new header values is a duplicate and keeps its type', async () => {
    const id = uid();
    const body = JSON.stringify(muroEvent(id, 'message.created'));
    const captured = muroHeaders(body, MURO_SECRET);
    expect((await send(`${hl.url}/muro/webhook`, { body, headers: captured })).json).toEqual({ ok: true, id });
    const replay = await send(`${hl.url}/muro/webhook`, {
      body,
      headers: { ...captured, 'x-muro-event-id': uid('forged'), 'x-muro-event': 'conversation.closed' },
    });
    expect(replay).toMatchObject({ status: 200, json: { ok: true, duplicate: true } });
    const stored = await hl.store.read.receipts(id, 'muro');
    expect(stored.map((e) => e.type)).toEqual(['message.created']);
    expect(await hl.store.read.events({ type: 'conversation.closed' })).toEqual([]);
  });

  it('400 for an id that is not a short printable string', async () => {
    for (const id of ['x\u0000y', 'line\nbreak', 'tab\there', 'del\u007f', 'a'.repeat(257), 'a'.repeat(10_000), '\ud800', { nested: 1 }, ['evt_1'], true]) {
      const answer = await postMuro({ ...muroEvent('placeholder'), id });
      expect(answer.status, JSON.stringify(id).slice(0, 40)).toBe(400);
      expect(answer.json).toMatchObject({ ok: false, code: 'HL_EVENT_ID_INVALID' });
    }
    const meru = await postMeru({ event_id: `a\u0000${uid()}` });
    expect(meru).toMatchObject({ status: 400, json: { code: 'HL_EVENT_ID_INVALID' } });
    // At the limits: 256 characters, and a number, are ids.
    const long = `${uid()}_`.padEnd(256, 'x');
    expect((await postMuro(muroEvent(long))).json).toEqual({ ok: true, id: long });
    const number = 9_000_000 + seq++;
    expect((await postMuro({ ...muroEvent('placeholder'), id: number })).json).toEqual({ ok: true, id: String(number) });
  });

  it('400 for a type that is not a short printable string', async () => {
    for (const type of ['message\u0000created', 'a'.repeat(257), 'a'.repeat(10_000), { name: 'x' }, ['message.created']]) {
      const answer = await postMuro({ ...muroEvent(uid()), type });
      expect(answer.status, JSON.stringify(type).slice(0, 40)).toBe(400);
      expect(answer.json).toMatchObject({ ok: false, code: 'HL_EVENT_TYPE_INVALID' });
    }
  });

  it('400 for MERU attachments that are not objects', async () => {
    for (const attachments of [[null], ['text'], [[{ filename: 'a' }]], [{ filename: 'a.txt', content: 'aGk=' }, 7], 'not a list', { filename: 'a' }]) {
      const answer = await postMeru({ event_id: uid('evt_meru'), attachments });
      expect(answer.status, JSON.stringify(attachments)).toBe(400);
      expect(answer.json).toMatchObject({ ok: false, code: 'HL_EVENT_MALFORMED', error: expect.stringContaining('attachments') });
    }
    const fine = await postMeru({ event_id: uid('evt_meru'), attachments: [{ filename: 'a.txt', content_type: 'text/plain', content: 'aGk=' }] });
    expect(fine.status).toBe(200);
  });

  it('400, not 503, for an email whose content cannot be read (nested past what can be re-serialised)', async () => {
    const depth = 100_000;
    const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body = `{"event_id":"${uid('evt_deep')}","attachments":[{"filename":"a.txt","content":"aGk="}],"deep":${deep}}`;
    const answer = await send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, MERU_SECRET) });
    expect(answer).toMatchObject({ status: 400, json: { ok: false, code: 'HL_EVENT_MALFORMED' } });
  });

  it('a 10 KB id sent in the same moment as good events fails alone: the good ones get 200', async () => {
    const good = Array.from({ length: 20 }, () => muroEvent(uid()));
    // Random, so that PostgreSQL cannot compress it under its index row limit.
    const bad = { ...muroEvent('placeholder'), id: randomBytes(5_000).toString('hex') };
    const answers = await Promise.all([...good.slice(0, 10), bad, ...good.slice(10)].map((e) => postMuro(e)));
    expect(answers[10]).toMatchObject({ status: 400, json: { code: 'HL_EVENT_ID_INVALID' } });
    const goodAnswers = answers.filter((_, i) => i !== 10);
    expect(goodAnswers.map((a) => a.status)).toEqual(good.map(() => 200));
    for (const event of good) expect(await hl.store.read.receipts(event.id, 'muro')).toHaveLength(1);
  });
});
