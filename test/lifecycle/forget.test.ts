// hookline forget: one person's data erased across every table and the attachments folder, with an
// audit entry that does not hold the address; other people's data untouched. Both backends.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.ts';
import { attachmentPath } from '../../src/domain/attachments.ts';
import { threadEmail } from '../../src/domain/ticket-threading.ts';
import { mentionPattern, mentions } from '../../src/lifecycle/address.ts';
import { InputError } from '../../src/lifecycle/errors.ts';
import { forget } from '../../src/lifecycle/forget.ts';
import { indexKey } from '../../src/store/index-key.ts';
import type { Store, TicketMessageInput } from '../../src/store/types.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { attempt, commit, receive, run, T0, uid } from '../store/fixtures.ts';
import { everyTableText, openFresh } from './open.ts';

const DANA = 'dana@bigcustomer.example';
const LEE = 'lee@other.example';
const shaOf = (c: string) => c.repeat(64);

/** A muro event of a conversation, naming its visitor; with its message in the transcript and a run with a step and attempt. */
async function muroEvent(store: Store, conversation: string, visitor: string, type: string, message?: { id: string; text: string }, runStatus = 'queued') {
  const body = { id: uid(), type, data: { conversation: { id: conversation }, ...(type === 'conversation.closed' ? {} : { visitor: { email: visitor } }), ...(message ? { message } : {}) } };
  const seq = await receive(store, { type, body: JSON.stringify(body), receivedAt: T0 });
  const runId = uid('run');
  await commit(store, seq, {
    messages: message ? [{ conversationId: indexKey(conversation), messageId: indexKey(message.id), eventSeq: seq, position: 0, message }] : [],
    runs: [run(runId, { status: runStatus as never })],
  });
  return { seq, runId };
}

function email(from: string, over: Partial<TicketMessageInput> = {}): TicketMessageInput {
  return {
    idempotencyKey: uid('key'), eventSeq: 0, receivedAt: T0, from, fromName: null, recipients: [], subject: 'Invoice', text: 'Hello',
    html: null, messageId: `<${uid('m')}@x.example>`, replyTo: [], attachments: [], ...over,
  };
}

/** A MERU event with a saved attachment, and the ticket it opened. */
async function meruTicket(store: Store, dir: string, from: string, sha: string, over: Partial<TicketMessageInput> = {}) {
  const body = { event_id: uid(), headers: { from: `Someone <${from.toUpperCase()}>`, cc: over.recipients?.join(', ') ?? null }, attachments: [{ filename: 'a.pdf', sha256: sha, saved: true }] };
  const seq = await receive(store, { source: 'meru', type: 'email.received', body: JSON.stringify(body) });
  await commit(store, seq);
  mkdirSync(join(dir, 'attachments', sha.slice(0, 2)), { recursive: true });
  writeFileSync(attachmentPath(join(dir, 'attachments'), sha), 'pdf');
  const result = await store.records.tickets.record(
    email(from, { eventSeq: seq, attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', size: 3, sha256: sha, saved: true }], ...over }),
    T0, threadEmail,
  );
  return { seq, ticketId: result.ticketId };
}

it('finds the address case-insensitively, not inside a longer address, and before a full stop', () => {
  const p = mentionPattern(DANA);
  expect(mentions(`"email":"Dana@BigCustomer.example"`, p)).toBe(true);
  expect(mentions(`write to dana@bigcustomer.example.`, p)).toBe(true);
  expect(mentions(`<dana@bigcustomer.example>`, p)).toBe(true);
  expect(mentions(`edana@bigcustomer.example`, p)).toBe(false);
  expect(mentions(`dana@bigcustomer.example.org`, p)).toBe(false);
  expect(mentions(`dana@bigcustomer.examples`, p)).toBe(false);
  expect(mentions(`danaXbigcustomer.example`, mentionPattern('dana@bigcustomer.example'))).toBe(false);
});

describeBackends('hookline forget', (backend) => {
  let dir: string;
  let cleanupDir: () => void;
  let store: Store;
  let fresh: FreshStore;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup: cleanupDir } = tempDir('hookline-forget-'));
    ({ store, fresh, close } = await openFresh(backend, dir));
  });
  afterEach(async () => {
    await close();
    cleanupDir();
  });
  const deps = () => ({ store, config: testConfig(dir), clock: { now: () => T0 + 60_000 } });

  it('erases everything of the person on every table and in the attachments folder, and keeps everything of others', async () => {
    // Dana: a conversation (opened with her email, a message without it, closed without it), a live run.
    const opened = await muroEvent(store, 'conv_dana', DANA, 'conversation.opened');
    const message = await muroEvent(store, 'conv_dana', DANA, 'message.created', { id: 'msg_d1', text: 'my card was charged twice' });
    await store.queue.claim({ owner: 'w1', now: T0, leaseMs: 30_000, limit: 10 });
    await store.queue.saveStep({ runId: message.runId, owner: 'w1' }, { step: { runId: message.runId, stepId: 's1', status: 'done', output: { ok: true }, startedAt: T0, finishedAt: T0 + 1 } as never, attempt: attempt(message.runId, 's1'), now: T0 + 1 });
    const closedBody = JSON.stringify({ id: uid(), type: 'conversation.closed', data: { conversation: { id: 'conv_dana' } } });
    const closed = await receive(store, { type: 'conversation.closed', body: closedBody });
    await commit(store, closed);
    // Lee: a conversation of his own.
    await muroEvent(store, 'conv_lee', LEE, 'conversation.opened');
    // Kim: nothing to do with Dana.
    const kim = await muroEvent(store, 'conv_kim', 'kim@third.example', 'message.created', { id: 'msg_k1', text: 'hello from kim' });
    // Pat's event, whose run's attempt wrote Dana's address down (a CRM answer naming her): about her too.
    const pat = await muroEvent(store, 'conv_pat', 'pat@fourth.example', 'conversation.opened');
    await store.queue.claim({ owner: 'w2', now: T0, leaseMs: 30_000, limit: 10 });
    await store.queue.finish({ runId: pat.runId, owner: 'w2' }, { status: 'done', now: T0 + 1, attempt: attempt(pat.runId, 'crm', { response: { body: { owner: 'Dana@bigcustomer.example' } } }) });
    // Tickets: Dana's own (with an attachment); one of Lee's on which Dana is in Cc; one of Kim's.
    const danaTicket = await meruTicket(store, dir, DANA, shaOf('a'));
    const ccTicket = await meruTicket(store, dir, LEE, shaOf('b'), { recipients: [DANA] });
    const kimTicket = await meruTicket(store, dir, 'kim@third.example', shaOf('c'));
    // The same file (same content) sent by Dana and by Kim: Kim's event still refers to it, so it stays.
    mkdirSync(join(dir, 'attachments', 'ee'), { recursive: true });
    writeFileSync(attachmentPath(join(dir, 'attachments'), shaOf('e')), 'logo');
    const sharedFile = (from: string) => JSON.stringify({ event_id: uid(), headers: { from }, attachments: [{ filename: 'logo.png', sha256: shaOf('e'), saved: true }] });
    await commit(store, await receive(store, { source: 'meru', type: 'email.received', body: sharedFile(DANA) }));
    const kimFile = await receive(store, { source: 'meru', type: 'email.received', body: sharedFile('kim@third.example') });
    await commit(store, kimFile);
    // Summaries (a store table) of Dana's conversation and Kim's, and a table row that mentions her.
    const summary = (conversation: string, visitor: string | null) => ({ conversation_id: conversation, visitor_email: visitor, summary: 'resolved' });
    await store.records.tables.insert({ table: 'conversation_summaries', row: summary('conv_dana', null), idempotencyKey: uid(), now: T0 });
    await store.records.tables.insert({ table: 'conversation_summaries', row: summary('conv_kim', 'kim@third.example'), idempotencyKey: uid(), now: T0 });
    await store.records.tables.insert({ table: 'signups', row: { who: 'Dana <DANA@bigcustomer.example>', plan: 'pro' }, idempotencyKey: uid(), now: T0 });
    await store.records.tables.insert({ table: 'signups', row: { who: 'edana@bigcustomer.example', plan: 'free' }, idempotencyKey: uid(), now: T0 });

    const before = await everyTableText(backend, fresh);
    expect([...before.values()].some((text) => text.includes(DANA))).toBe(true);

    const dry = await forget(deps(), { email: 'Dana@BigCustomer.example', requestedBy: 'cli:test', dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.id).toBeUndefined();
    expect(await everyTableText(backend, fresh)).toEqual(before);
    expect(await store.erasure.erasures(10)).toEqual([]);

    const result = await forget(deps(), { email: ' Dana@BigCustomer.example ', requestedBy: 'cli:test' });
    expect(result.counts).toEqual(dry.counts);
    // Dana's 3 conversation events, 2 MERU emails (hers, and Lee's with her in Cc), Pat's; not Lee's conversation (it does not name her).
    expect(result.counts).toMatchObject({ events: 7, runs: 3, attempts: 2, tickets: 2, ticket_messages: 2, attachments: 2, transcript_messages: 1, customers: 1, files: 2 });
    expect(await store.read.event(pat.seq)).toBeUndefined();
    expect(result.counts.tables).toEqual({ conversation_summaries: 1, signups: 1 });

    // Nothing containing the address remains anywhere, audit included (edana@… is another address).
    for (const [table, text] of await everyTableText(backend, fresh)) expect(mentions(text, mentionPattern(DANA)), `table ${table}`).toBe(false);
    expect((await everyTableText(backend, fresh)).get('signups')).toContain('edana@bigcustomer.example');
    expect(existsSync(attachmentPath(join(dir, 'attachments'), shaOf('a')))).toBe(false);
    expect(existsSync(attachmentPath(join(dir, 'attachments'), shaOf('b')))).toBe(false);
    // Others untouched.
    expect(existsSync(attachmentPath(join(dir, 'attachments'), shaOf('c')))).toBe(true);
    expect(existsSync(attachmentPath(join(dir, 'attachments'), shaOf('e')))).toBe(true);
    expect(await store.read.event(kimFile)).toBeDefined();
    expect(await store.read.event(kim.seq)).toBeDefined();
    expect(await store.read.ticket(kimTicket.ticketId)).toBeDefined();
    expect(await store.read.ticket(danaTicket.ticketId)).toBeUndefined();
    expect(await store.read.ticket(ccTicket.ticketId)).toBeUndefined();
    expect((await store.records.conversations.transcript('conv_kim')).length).toBe(1);
    expect((await store.read.tableRows('conversation_summaries', 10)).map((r) => r.conversation_id)).toEqual(['conv_kim']);
    expect((await store.read.tableRows('signups', 10)).map((r) => r.who)).toEqual(['edana@bigcustomer.example']);
    expect(await store.read.event(opened.seq)).toBeUndefined();
    // The live run was cancelled: its worker's next write finds no lease.
    await expect(store.queue.finish({ runId: message.runId, owner: 'w1' }, { status: 'done', now: T0 + 2 })).rejects.toThrow(LeaseLostError);

    const [entry, ...more] = await store.erasure.erasures(10);
    expect(more).toEqual([]);
    expect(entry).toEqual({ id: result.id, requestedBy: 'cli:test', requestedAt: T0 + 60_000, counts: result.counts });

    // Again: nothing left to erase, and a second audit entry says so.
    const again = await forget({ ...deps(), clock: { now: () => T0 + 120_000 } }, { email: DANA, requestedBy: 'admin' });
    expect(again.counts).toMatchObject({ events: 0, runs: 0, tickets: 0, files: 0, tables: {} });
    expect((await store.erasure.erasures(10)).map((e) => e.requestedBy)).toEqual(['admin', 'cli:test']);
  });

  it('refuses what is not an address', async () => {
    for (const bad of ['', 'dana', 'dana@', '@x.example', 'a b@x.example', 'x'.repeat(250) + '@x.example', 42]) {
      await expect(forget(deps(), { email: bad, requestedBy: 'cli:test' })).rejects.toBeInstanceOf(InputError);
    }
    expect(await store.erasure.erasures(10)).toEqual([]);
  });
});
