// The store port's behaviour, written once and run against every backend (sqlite.test.ts,
// postgres.test.ts). Every expectation here is a documented promise of src/store/types.ts: a backend
// that passes this suite can replace another without the engine noticing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, NonRetryableError, StoreUnavailableError } from '../../src/errors.ts';
import { threadEmail } from '../../src/domain/ticket-threading.ts';
import { indexKey } from '../../src/store/index-key.ts';
import type { Lease, StepRecord, Store, TicketMessageInput } from '../../src/store/types.ts';
import { attempt, commit, createRuns, newEvent, receive, resolveWait, run, settle, T0, TTL, uid } from './fixtures.ts';

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes everything it wrote. */
  cleanup(): Promise<void>;
}

export interface UnreliableStore extends OpenedStore {
  /** Makes the database unreachable (or unwritable) until `recover`. */
  outage(): Promise<void>;
  recover(): Promise<void>;
}

export interface StoreHarness {
  /** A store on fresh, empty state. */
  open(): Promise<OpenedStore>;
  /** A store whose database can be taken away and brought back. */
  openUnreliable(): Promise<UnreliableStore>;
}

const LEASE = 30_000;

export function describeStoreConformance(name: string, harness: StoreHarness): void {
  describe(`store conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await harness.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    /** Creates runs and claims them all for `owner` at `now`. */
    async function claimed(ids: string[], owner = 'w1', now = T0) {
      await createRuns(store, ids.map((id) => run(id)), now);
      const runs = await store.queue.claim({ owner, now, leaseMs: LEASE, limit: ids.length });
      expect(runs.map((r) => r.id).sort()).toEqual([...ids].sort());
      return runs;
    }
    const lease = (runId: string, owner = 'w1'): Lease => ({ runId, owner });
    /** A run parked on a wait_for of `source` events, deadline `deadline`. */
    async function parked(id: string, deadline: number, source = 'muro', trigger: Parameters<typeof createRuns>[3] = {}) {
      await createRuns(store, [run(id)], T0, trigger);
      await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 1 });
      await store.queue.park(lease(id), { wait: { stepId: 'wait', source, type: 'message.*', deadline }, now: T0 + 1 });
    }

    describe('events.receive', () => {
      it('stores the event, returns increasing seqs, and getBySeq returns it whole', async () => {
        const a = newEvent({ test: true, headers: { 'x-muro-event': 'message.created', 'user-agent': 'muro/1' } });
        const b = newEvent({ receivedAt: T0 + 1 });
        const ra = await store.inbox.receive(a, TTL);
        const rb = await store.inbox.receive(b, TTL);
        if (ra.duplicate || rb.duplicate) throw new Error('unexpected duplicate');
        expect(rb.seq).toBeGreaterThan(ra.seq);
        expect(await store.read.event(ra.seq)).toEqual({ ...a, seq: ra.seq, status: 'received', generation: 0, dispatchError: null });
        expect(await store.read.event(rb.seq)).toEqual({ ...b, seq: rb.seq, status: 'received', generation: 0, dispatchError: null });
        expect(await store.read.event(rb.seq + 1000)).toBeUndefined();
        expect(await store.read.eventCount()).toBe(2);
      });

      it('keeps the body text byte for byte', async () => {
        const body = '{"b":1,  "a":"ünïcödé \\u0000 ✓","n":1.10}';
        const seq = await receive(store, { body });
        expect((await store.read.event(seq))?.body).toBe(body);
      });

      it('answers duplicate for an id seen within its TTL and writes nothing', async () => {
        const e = newEvent();
        expect((await store.inbox.receive(e, TTL)).duplicate).toBe(false);
        const again = await store.inbox.receive({ ...e, receivedAt: T0 + TTL - 1, body: '{"changed":true}' }, TTL);
        expect(again).toEqual({ duplicate: true });
        expect(await store.read.eventCount()).toBe(1);
        const receipts = await store.read.receipts(e.eventId);
        expect(receipts.map((r) => r.body)).toEqual([e.body]);
      });

      it('accepts the id again once its TTL has run out; a duplicate does not extend the TTL', async () => {
        const e = newEvent();
        const first = await store.inbox.receive(e, TTL);
        expect(await store.inbox.receive({ ...e, receivedAt: T0 + TTL / 2 }, TTL)).toEqual({ duplicate: true });
        const second = await store.inbox.receive({ ...e, receivedAt: T0 + TTL }, TTL);
        expect(second.duplicate).toBe(false);
        if (first.duplicate || second.duplicate) throw new Error('unreachable');
        expect(second.seq).toBeGreaterThan(first.seq);
        // The new receipt has its own TTL from its own receivedAt.
        expect(await store.inbox.receive({ ...e, receivedAt: T0 + 2 * TTL - 1 }, TTL)).toEqual({ duplicate: true });
        expect(await store.read.eventCount()).toBe(2);
      });

      it('deduplicates per source', async () => {
        const e = newEvent();
        expect((await store.inbox.receive(e, TTL)).duplicate).toBe(false);
        expect((await store.inbox.receive({ ...e, source: 'meru', type: 'email.received' }, TTL)).duplicate).toBe(false);
        expect((await store.inbox.receive(e, TTL)).duplicate).toBe(true);
      });

      it('accepts exactly one of 50 concurrent receives of one id', async () => {
        const e = newEvent();
        const results = await Promise.all(Array.from({ length: 50 }, () => store.inbox.receive(e, TTL)));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(await store.read.eventCount()).toBe(1);
      });

      it('accepts each id once when concurrent receives repeat several ids', async () => {
        const events = Array.from({ length: 10 }, () => newEvent());
        const results = await Promise.all([...events, ...events, ...events].map((e) => store.inbox.receive(e, TTL)));
        const accepted = results.flatMap((r, i) => (r.duplicate ? [] : [events[i % 10]!.eventId]));
        expect(accepted.sort()).toEqual(events.map((e) => e.eventId).sort());
        expect(await store.read.eventCount()).toBe(10);
      });

      it('gives 50 concurrent distinct events 50 distinct seqs', async () => {
        const results = await Promise.all(Array.from({ length: 50 }, () => store.inbox.receive(newEvent(), TTL)));
        const seqs = results.map((r) => (r.duplicate ? -1 : r.seq));
        expect(new Set(seqs).size).toBe(50);
        expect(seqs).not.toContain(-1);
        expect(await store.read.eventCount()).toBe(50);
      });

      it('rejects with StoreUnavailableError when it cannot write, and works again afterwards', async () => {
        const unreliable = await harness.openUnreliable();
        try {
          expect((await unreliable.store.inbox.receive(newEvent(), TTL)).duplicate).toBe(false);
          await unreliable.outage();
          const failed = await settle(unreliable.store.inbox.receive(newEvent(), TTL));
          expect(failed.ok).toBe(false);
          if (!failed.ok) expect(failed.error).toBeInstanceOf(StoreUnavailableError);
          await unreliable.recover();
          const e = newEvent();
          await expect.poll(async () => (await settle(unreliable.store.inbox.receive(e, TTL))).ok, { timeout: 10_000, interval: 100 }).toBe(true);
          expect(await unreliable.store.read.receipts(e.eventId)).toHaveLength(1);
          await unreliable.store.ping();
        } finally {
          await unreliable.cleanup();
        }
      });
    });

    describe('events.purgeSeen', () => {
      it('deletes up to `limit` expired seen records and keeps the live ones', async () => {
        for (let i = 0; i < 3; i++) await receive(store, { receivedAt: T0 }, 100);
        const live = newEvent({ receivedAt: T0 });
        await store.inbox.receive(live, 10_000);
        expect(await store.inbox.purgeSeen(T0 + 99, 10)).toBe(0);
        expect(await store.inbox.purgeSeen(T0 + 100, 2)).toBe(2);
        expect(await store.inbox.purgeSeen(T0 + 100, 2)).toBe(1);
        expect(await store.inbox.purgeSeen(T0 + 100, 2)).toBe(0);
        // The events themselves stay; the live id is still remembered.
        expect(await store.read.eventCount()).toBe(4);
        expect(await store.inbox.receive({ ...live, receivedAt: T0 + 200 }, 10_000)).toEqual({ duplicate: true });
      });
    });

    describe('events.list / findById / after / replay', () => {
      async function sample() {
        const e1 = await receive(store, { type: 'conversation.opened', body: '{"visitor":{"email":"ann@example.com"}}' });
        const e2 = await receive(store, { type: 'message.created', eventId: uid('msg') });
        const e3 = await receive(store, { source: 'meru', type: 'email.received', body: '{"from":"bob@example.com"}' });
        const e4 = await receive(store, { type: 'conversation.closed' });
        return { e1, e2, e3, e4 };
      }
      const seqs = (list: Array<{ seq: number }>) => list.map((e) => e.seq);

      it('lists newest first, as summaries without body or headers', async () => {
        const { e1, e2, e3, e4 } = await sample();
        const all = await store.read.events({});
        expect(seqs(all)).toEqual([e4, e3, e2, e1]);
        expect(all[1]).toMatchObject({ seq: e3, source: 'meru', type: 'email.received', receivedAt: T0, test: false, status: 'received', generation: 0 });
        expect(all[0]).not.toHaveProperty('body');
        expect(all[0]).not.toHaveProperty('headers');
      });

      it('filters by source, exact type, type glob, before, limit and search, combined', async () => {
        const { e1, e2, e3, e4 } = await sample();
        expect(seqs(await store.read.events({ source: 'muro' }))).toEqual([e4, e2, e1]);
        expect(seqs(await store.read.events({ type: 'message.created' }))).toEqual([e2]);
        expect(seqs(await store.read.events({ type: 'conversation.*' }))).toEqual([e4, e1]);
        expect(seqs(await store.read.events({ type: 'conversation.?losed' }))).toEqual([e4]);
        expect(seqs(await store.read.events({ type: 'conversation' }))).toEqual([]);
        expect(seqs(await store.read.events({ before: e3 }))).toEqual([e2, e1]);
        expect(seqs(await store.read.events({ limit: 2 }))).toEqual([e4, e3]);
        expect(seqs(await store.read.events({ search: 'bob@example.com' }))).toEqual([e3]);
        expect(seqs(await store.read.events({ search: 'example.com' }))).toEqual([e3, e1]);
        const id2 = (await store.read.event(e2))!.eventId;
        expect(seqs(await store.read.events({ search: id2 }))).toEqual([e2]);
        expect(seqs(await store.read.events({ search: '%' }))).toEqual([]);
        expect(seqs(await store.read.events({ source: 'muro', type: 'conversation.*', before: e4 }))).toEqual([e1]);
        expect(seqs(await store.read.events({ source: 'meru', search: 'ann@' }))).toEqual([]);
      });

      it('returns at most 50 by default', async () => {
        for (let i = 0; i < 55; i++) await receive(store);
        expect(await store.read.events({})).toHaveLength(50);
        expect(await store.read.events({ limit: 100 })).toHaveLength(55);
      });

      it('findById returns every receipt, newest first, optionally of one source', async () => {
        const e = newEvent();
        await store.inbox.receive(e, TTL);
        await store.inbox.receive({ ...e, receivedAt: T0 + TTL }, TTL);
        await store.inbox.receive({ ...e, source: 'meru', receivedAt: T0 + 5 }, TTL);
        const all = await store.read.receipts(e.eventId);
        expect(all.map((r) => [r.source, r.receivedAt])).toEqual([
          ['meru', T0 + 5],
          ['muro', T0 + TTL],
          ['muro', T0],
        ]);
        expect(all[0]).toMatchObject({ body: e.body, headers: e.headers });
        expect((await store.read.receipts(e.eventId, 'muro')).map((r) => r.receivedAt)).toEqual([T0 + TTL, T0]);
        expect(await store.read.receipts('no-such-id')).toEqual([]);
      });

      it('after() returns later events of one source, oldest first, up to limit', async () => {
        const a = await receive(store);
        const b = await receive(store);
        await receive(store, { source: 'meru' });
        const d = await receive(store);
        const e = await receive(store);
        const later = await store.waits.lookBack({ after: a, source: 'muro', limit: 10 });
        expect(seqs(later)).toEqual([b, d, e]);
        expect(later[0]).toHaveProperty('body');
        expect(seqs(await store.waits.lookBack({ after: a, source: 'muro', limit: 2 }))).toEqual([b, d]);
        expect(seqs(await store.waits.lookBack({ after: e, source: 'muro', limit: 10 }))).toEqual([]);
      });

      it('replay() sends an event back to received with generation + 1', async () => {
        const seq = await receive(store);
        await commit(store, seq);
        expect((await store.read.event(seq))?.status).toBe('dispatched');
        expect(await store.dispatch.pending(10)).toEqual([]);
        expect(await store.operations.replay(seq)).toBe(true);
        expect(await store.read.event(seq)).toMatchObject({ status: 'received', generation: 1 });
        expect((await store.dispatch.pending(10)).map((e) => [e.seq, e.generation])).toEqual([[seq, 1]]);
        expect(await store.operations.replay(seq)).toBe(true);
        expect((await store.read.event(seq))?.generation).toBe(2);
        expect(await store.operations.replay(seq + 1000)).toBe(false);
        expect(await store.read.eventCount()).toBe(1);
      });
    });

    describe('dispatch', () => {
      it('pending() hands out received events in receive order, up to limit', async () => {
        const a = await receive(store);
        const b = await receive(store, { source: 'meru' });
        const c = await receive(store);
        expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([a, b, c]);
        expect((await store.dispatch.pending(2)).map((e) => e.seq)).toEqual([a, b]);
        const [first] = await store.dispatch.pending(1);
        expect(first).toMatchObject({ seq: a, status: 'received', generation: 0, source: 'muro' });
        expect(first?.headers).toBeTypeOf('object');
        await commit(store, b);
        expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([a, c]);
      });

      it('commit creates the runs, marks the event dispatched, and reports them', async () => {
        const seq = await receive(store);
        const outcome = await commit(store, seq, {
          now: T0 + 5,
          runs: [run('r1', { key: 'conv-1' }), run('r2', { recipe: 'other' }), run('r3', { status: 'dead', error: 'if: boom' })],
        });
        expect(outcome).toEqual({ created: ['r1', 'r2', 'r3'], keyBusy: [], resolved: [] });
        expect((await store.read.event(seq))?.status).toBe('dispatched');
        expect(await store.read.run('r1')).toEqual({
          id: 'r1',
          eventSeq: seq,
          recipe: 'notify',
          recipeVersion: null,
          key: 'conv-1',
          generation: 0,
          status: 'queued',
          lane: null,
          attempt: 0,
          availableAt: T0 + 5,
          leaseOwner: null,
          leaseUntil: null,
          createdAt: T0 + 5,
          updatedAt: T0 + 5,
          error: null,
          steps: [],
          attempts: [],
        });
        expect(await store.read.run('r2')).toMatchObject({ recipe: 'other', key: null, status: 'queued' });
        expect(await store.read.run('r3')).toMatchObject({ status: 'dead', error: 'if: boom' });
      });

      it('gives the runs of a replay the event generation', async () => {
        const seq = await receive(store);
        await commit(store, seq, { runs: [run('r1')] });
        await store.operations.replay(seq);
        expect(await commit(store, seq, { generation: 1, runs: [run('r2')] })).toMatchObject({ created: ['r2'] });
        expect((await store.read.run('r2'))?.generation).toBe(1);
      });

      it('records a run whose key a live run holds as skipped, naming the holder', async () => {
        await createRuns(store, [run('holder', { key: 'k' })]);
        const seq = await receive(store);
        const outcome = await commit(store, seq, {
          now: T0 + 1,
          runs: [run('busy', { key: 'k' }), run('other-recipe', { recipe: 'other', key: 'k' }), run('other-key', { key: 'k2' }), run('no-key')],
        });
        expect(outcome.created).toEqual(['other-recipe', 'other-key', 'no-key']);
        expect(outcome.keyBusy).toEqual(['busy']);
        const busy = await store.read.run('busy');
        expect(busy).toMatchObject({ status: 'skipped', key: 'k', eventSeq: seq });
        expect(busy?.error).toContain('holder');
        // Two runs of one plan with the same key: the second one is skipped.
        const seq2 = await receive(store);
        const twice = await commit(store, seq2, { runs: [run('first', { key: 'k3' }), run('second', { key: 'k3' })] });
        expect(twice).toMatchObject({ created: ['first'], keyBusy: ['second'] });
        expect((await store.read.run('second'))?.error).toContain('first');
      });

      it('lets a finished (done or dead) run free its key', async () => {
        await createRuns(store, [run('a', { key: 'k' }), run('b', { recipe: 'other', key: 'k' })]);
        const [ra, rb] = await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 2 });
        await store.queue.finish(lease(ra!.id), { status: 'done', now: T0 + 1 });
        await store.queue.finish(lease(rb!.id), { status: 'dead', error: 'gave up', now: T0 + 1 });
        const seq = await receive(store);
        expect(await commit(store, seq, { runs: [run('a2', { key: 'k' }), run('b2', { recipe: 'other', key: 'k' })] })).toMatchObject({
          created: ['a2', 'b2'],
          keyBusy: [],
        });
        // A run created dead (its trigger failed) holds no key either.
        const seq2 = await receive(store);
        await commit(store, seq2, { runs: [run('dead-at-birth', { key: 'k9', status: 'dead', error: 'key: boom' })] });
        const seq3 = await receive(store);
        expect(await commit(store, seq3, { runs: [run('k9-live', { key: 'k9' })] })).toMatchObject({ created: ['k9-live'] });
      });

      it('changes nothing when the event is no longer received (dispatched elsewhere, or replayed since)', async () => {
        const seq = await receive(store);
        const conversation = uid('conv');
        await commit(store, seq, { runs: [run('r1')] });
        const again = await commit(store, seq, {
          runs: [run('r2')],
          messages: [{ conversationId: conversation, messageId: 'm1', eventSeq: seq, position: 0, message: {} }],
        });
        expect(again).toEqual({ created: [], keyBusy: [], resolved: [] });
        expect(await store.read.run('r2')).toBeUndefined();
        expect(await store.records.conversations.transcript(conversation)).toEqual([]);
        // A plan made for generation 0 after a replay bumped it to 1 is stale too.
        await store.operations.replay(seq);
        expect(await commit(store, seq, { generation: 0, runs: [run('r3')] })).toEqual({ created: [], keyBusy: [], resolved: [] });
        expect((await store.read.event(seq))?.status).toBe('received');
        expect(await store.read.run('r3')).toBeUndefined();
      });

      it('appends transcript messages, ignores ids already there, and orders by eventSeq then position', async () => {
        const conv = uid('conv');
        const a = await receive(store);
        const b = await receive(store);
        const c = await receive(store);
        const msg = (messageId: string, eventSeq: number, position: number, text: string) => ({
          conversationId: conv,
          messageId,
          eventSeq,
          position,
          message: { id: messageId, text, meta: { n: position } },
        });
        // Committed out of order: b before a.
        await commit(store, b, { messages: [msg('m3', b, 0, 'third'), msg('m4', b, 1, 'fourth')] });
        await commit(store, a, { messages: [msg('m2', a, 1, 'second'), msg('m1', a, 0, 'first')] });
        await commit(store, c, { messages: [msg('m4', c, 0, 'fourth again'), msg('m5', c, 1, 'fifth')] });
        const transcript = await store.records.conversations.transcript(conv);
        expect(transcript.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
        expect(transcript[3]).toEqual(msg('m4', b, 1, 'fourth'));
        expect(await store.records.conversations.transcript(uid('empty'))).toEqual([]);
        // Messages of another conversation stay apart.
        const d = await receive(store);
        await commit(store, d, { messages: [{ ...msg('m1', d, 0, 'elsewhere'), conversationId: `${conv}-other` }] });
        expect(await store.records.conversations.transcript(conv)).toHaveLength(5);
      });

      it('resolves only waits that are still waiting, stores the output and queues the run', async () => {
        await parked('p1', T0 + 1_000);
        await parked('p2', T0 + 1_000);
        await parked('p3', T0 + 50);
        expect(await store.waits.expire(T0 + 50, 10)).toEqual([{ runId: 'p3', stepId: 'wait' }]);
        const seq = await receive(store, { receivedAt: T0 + 100 });
        const output = { timed_out: false, event: { id: 'x', nested: [1, 2] } };
        const outcome = await commit(store, seq, {
          now: T0 + 100,
          resolutions: [
            { runId: 'p1', stepId: 'wait', output },
            { runId: 'p3', stepId: 'wait', output },
            { runId: 'nope', stepId: 'wait', output },
          ],
        });
        expect(outcome).toEqual({ created: [], keyBusy: [], resolved: ['p1'] });
        const p1 = await store.read.run('p1');
        expect(p1).toMatchObject({ status: 'queued', availableAt: T0 + 100, updatedAt: T0 + 100 });
        expect(p1?.steps).toEqual([{ runId: 'p1', stepId: 'wait', status: 'done', output, startedAt: T0 + 1, finishedAt: T0 + 100 }]);
        expect((await store.read.run('p3'))?.steps[0]?.output).toEqual({ timed_out: true });
        expect((await store.read.run('p2'))?.status).toBe('waiting');
        expect((await store.waits.waiting('muro')).map((w) => w.runId)).toEqual(['p2']);
      });

      it('setAside takes a received event out of pending with its error; retry brings it back in the same generation', async () => {
        const a = await receive(store);
        const b = await receive(store);
        const c = await receive(store);
        const error = 'committing its dispatch failed: boom \u0000 ✓';
        expect(await store.dispatch.setAside({ seq: b, generation: 0, error })).toBe(true);
        expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([a, c]);
        const failed = await store.read.event(b);
        expect(failed).toMatchObject({ status: 'failed', generation: 0 });
        expect(failed?.dispatchError).toMatch(/^committing its dispatch failed: boom .* ✓$/);
        expect((await store.read.events({})).find((e) => e.seq === b)).toMatchObject({ status: 'failed', dispatchError: failed?.dispatchError });
        expect((await store.read.receipts(failed!.eventId))[0]).toMatchObject({ status: 'failed' });
        // Only a received event of that generation is set aside.
        expect(await store.dispatch.setAside({ seq: b, generation: 0, error: 'again' })).toBe(false);
        await commit(store, a);
        expect(await store.dispatch.setAside({ seq: a, generation: 0, error: 'too late' })).toBe(false);
        expect(await store.dispatch.setAside({ seq: c, generation: 1, error: 'wrong generation' })).toBe(false);
        expect((await store.read.event(a))?.status).toBe('dispatched');

        expect(await store.operations.redispatch(b)).toBe(true);
        expect(await store.operations.redispatch(b)).toBe(false);
        expect(await store.operations.redispatch(a)).toBe(false);
        expect((await store.dispatch.pending(10)).map((e) => [e.seq, e.generation])).toEqual([[b, 0], [c, 0]]);
        // Dispatched at last, it keeps no error.
        expect(await commit(store, b, { runs: [run('after-fix')] })).toMatchObject({ created: ['after-fix'] });
        expect(await store.read.event(b)).toMatchObject({ status: 'dispatched', dispatchError: null });
      });

      it('a set-aside event can be replayed: received again, next generation', async () => {
        const seq = await receive(store);
        await store.dispatch.setAside({ seq, generation: 0, error: 'planning its dispatch failed: x' });
        expect(await store.operations.replay(seq)).toBe(true);
        expect(await store.read.event(seq)).toMatchObject({ status: 'received', generation: 1 });
        expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([seq]);
      });

      it('backlog gives the oldest event waiting for its first dispatch and how many are set aside', async () => {
        expect(await store.read.backlog()).toEqual({ oldestPending: undefined, setAside: 0 });
        const old = await receive(store, { receivedAt: T0 - 5_000 });
        await commit(store, old);
        await store.operations.replay(old); // pending again, but a replay: its old time says nothing of the lag
        const first = await receive(store, { receivedAt: T0 + 10 });
        await receive(store, { receivedAt: T0 + 20 });
        const bad = await receive(store, { receivedAt: T0 + 30 });
        await store.dispatch.setAside({ seq: bad, generation: 0, error: 'x' });
        expect(await store.read.backlog()).toEqual({ oldestPending: T0 + 10, setAside: 1 });
        await store.dispatch.setAside({ seq: first, generation: 0, error: 'y' });
        expect(await store.read.backlog()).toEqual({ oldestPending: T0 + 20, setAside: 2 });
      });

      it('keeps values from event data apart as index keys: any length, NUL, lone surrogates', async () => {
        const ids = ['c'.repeat(10_000), `${'c'.repeat(9_999)}d`, 'x\u0000y', 'x\uFFFDy', 'x\uD800y', 'm'.repeat(1 << 20)];
        const seq = await receive(store);
        await commit(store, seq, {
          messages: ids.map((id, i) => ({ conversationId: indexKey(id), messageId: indexKey(`${id}:m`), eventSeq: seq, position: i, message: { id } })),
          runs: ids.map((id, i) => run(`k${i}`, { key: indexKey(id) })),
        });
        for (const id of ids) expect((await store.records.conversations.transcript(indexKey(id))).map((m) => m.message)).toEqual([{ id }]);
        expect((await store.read.runs({ status: 'queued' })).map((r) => r.key).sort()).toEqual(ids.map(indexKey).sort());
      });

      it('withLock runs callers one at a time and passes results and errors through', async () => {
        let inside = 0;
        let most = 0;
        const order: number[] = [];
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            store.dispatch.withLock(async () => {
              inside++;
              most = Math.max(most, inside);
              await new Promise((r) => setTimeout(r, 5));
              order.push(i);
              inside--;
              return i * 2;
            }),
          ),
        );
        expect(results).toEqual([0, 2, 4, 6, 8]);
        expect(most).toBe(1);
        expect(order).toHaveLength(5);
        await expect(store.dispatch.withLock(async () => Promise.reject(new Error('inside')))).rejects.toThrow('inside');
        expect(await store.dispatch.withLock(async () => 'after an error')).toBe('after an error');
      });
    });

    describe('runs.claim and leases', () => {
      it('leases due runs oldest first, with their event and steps, and leaves future ones', async () => {
        const late = await createRuns(store, [run('late')], T0 + 10);
        await createRuns(store, [run('early')], T0);
        await createRuns(store, [run('future')], T0 + 1_000);
        const [first] = await store.queue.claim({ owner: 'w1', now: T0 + 20, leaseMs: LEASE, limit: 1 });
        expect(first?.id).toBe('early');
        const rest = await store.queue.claim({ owner: 'w1', now: T0 + 20, leaseMs: LEASE, limit: 10 });
        expect(rest.map((r) => r.id)).toEqual(['late']);
        expect(rest[0]).toMatchObject({
          status: 'running',
          leaseOwner: 'w1',
          leaseUntil: T0 + 20 + LEASE,
          updatedAt: T0 + 20,
          availableAt: T0 + 10,
          createdAt: T0 + 10,
          eventSeq: late,
          steps: [],
        });
        expect(rest[0]?.event).toEqual(await store.read.event(late));
        expect(await store.queue.claim({ owner: 'w1', now: T0 + 20, leaseMs: LEASE, limit: 10 })).toEqual([]);
        expect((await store.queue.claim({ owner: 'w1', now: T0 + 1_000, leaseMs: LEASE, limit: 10 })).map((r) => r.id)).toEqual(['future']);
      });

      it('returns several claimed runs oldest first: due first, then created first', async () => {
        await createRuns(store, [run('c')], T0 + 2);
        await createRuns(store, [run('a')], T0);
        await createRuns(store, [run('b')], T0 + 1);
        // Created in the same millisecond: in creation order, whatever their ids.
        await createRuns(store, [run('z2'), run('z1')], T0 + 3);
        await createRuns(store, [run('y0')], T0 + 3);
        expect((await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 10 })).map((r) => r.id)).toEqual(['a', 'b', 'c', 'z2', 'z1', 'y0']);
      });

      it('leaves runs whose lane is busy for later; saveStep and park move the lane on', async () => {
        await createRuns(store, [run('slack1', { lane: 'slack' }), run('http1', { lane: 'http:a.test' }), run('nolane')], T0);
        await createRuns(store, [run('slack2', { lane: 'slack' })], T0 + 1);
        const first = await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 10, skipLanes: ['slack'] });
        expect(first.map((r) => [r.id, r.lane])).toEqual([['http1', 'http:a.test'], ['nolane', null]]);
        const lease = { runId: 'http1', owner: 'w1' };
        await store.queue.saveStep(lease, { step: { runId: 'http1', stepId: 's1', status: 'done', output: null, startedAt: T0, finishedAt: T0 }, now: T0 + 5, nextLane: 'slack' });
        expect((await store.read.run('http1'))?.lane).toBe('slack');
        await store.queue.saveStep(lease, { step: { runId: 'http1', stepId: 's2', status: 'done', output: null, startedAt: T0, finishedAt: T0 }, now: T0 + 5 });
        expect((await store.read.run('http1'))?.lane).toBe('slack');
        await store.queue.park(lease, { wait: { stepId: 'w', source: 'muro', type: 'x', deadline: T0 + 100 }, now: T0 + 5, nextLane: null });
        expect((await store.read.run('http1'))?.lane).toBeNull();
        expect((await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 10, skipLanes: ['slack', 'other'] })).map((r) => r.id)).toEqual([]);
        expect((await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 10, skipLanes: [] })).map((r) => r.id)).toEqual(['slack1', 'slack2']);
      });

      it('does not let a second owner claim a leased run until the lease expires, then hands it over', async () => {
        await claimed(['r1'], 'w1', T0);
        expect(await store.queue.claim({ owner: 'w2', now: T0 + LEASE - 1, leaseMs: LEASE, limit: 10 })).toEqual([]);
        const taken = await store.queue.claim({ owner: 'w2', now: T0 + LEASE + 1, leaseMs: LEASE, limit: 10 });
        expect(taken.map((r) => [r.id, r.leaseOwner, r.leaseUntil])).toEqual([['r1', 'w2', T0 + 2 * LEASE + 1]]);
        expect(await store.queue.leaseOwners()).toEqual(['w2']);
      });

      it('heartbeat extends only the leases the owner still holds', async () => {
        await claimed(['r1', 'r2'], 'w1', T0);
        await store.queue.heartbeat('w1', ['r1'], T0 + 3 * LEASE);
        await store.queue.heartbeat('w2', ['r2'], T0 + 3 * LEASE);
        expect((await store.read.run('r1'))?.leaseUntil).toBe(T0 + 3 * LEASE);
        expect((await store.read.run('r2'))?.leaseUntil).toBe(T0 + LEASE);
        expect((await store.queue.claim({ owner: 'w2', now: T0 + 2 * LEASE, leaseMs: LEASE, limit: 10 })).map((r) => r.id)).toEqual(['r2']);
        // w1 lost r2: its heartbeat does not take it back.
        await store.queue.heartbeat('w1', ['r1', 'r2'], T0 + 4 * LEASE);
        expect(await store.read.run('r2')).toMatchObject({ leaseOwner: 'w2', leaseUntil: T0 + 3 * LEASE });
        expect((await store.read.run('r1'))?.leaseUntil).toBe(T0 + 4 * LEASE);
      });

      it('fails every write with a lost lease with LeaseLostError and changes nothing', async () => {
        await claimed(['r1'], 'w1', T0);
        const now = T0 + LEASE + 1;
        await store.queue.claim({ owner: 'w2', now, leaseMs: LEASE, limit: 10 });
        const step: StepRecord = { runId: 'r1', stepId: 's1', status: 'done', output: 1, startedAt: now, finishedAt: now };
        const writes = await Promise.all(
          [
            store.queue.saveStep(lease('r1'), { step, attempt: attempt('r1', 's1'), now }),
            store.queue.park(lease('r1'), { wait: { stepId: 'w', source: 'muro', type: '*', deadline: now + 10 }, now }),
            store.queue.retryLater(lease('r1'), { attempt: attempt('r1', 's1', { outcome: 'retry' }), availableAt: now + 10, error: 'again', now }),
            store.queue.release(lease('r1'), { availableAt: now, now }),
            store.queue.finish(lease('r1'), { status: 'done', now }),
            store.queue.finish(lease('r1'), { status: 'dead', error: 'x', attempt: attempt('r1', 's1', { outcome: 'failed' }), now }),
          ].map((write) => settle(write)),
        );
        for (const write of writes) expect(write.ok ? 'resolved' : write.error).toBeInstanceOf(LeaseLostError);
        const detail = await store.read.run('r1');
        expect(detail).toMatchObject({ status: 'running', leaseOwner: 'w2', attempt: 0, steps: [], attempts: [] });
        expect(await store.waits.waiting('muro')).toEqual([]);
        // Unknown runs, runs never claimed, and runs that finished are not held either.
        await expect(store.queue.release(lease('nope'), { availableAt: now, now })).rejects.toBeInstanceOf(LeaseLostError);
        await createRuns(store, [run('queued')], T0 + 2 * LEASE);
        await expect(store.queue.finish(lease('queued', 'w2'), { status: 'done', now })).rejects.toBeInstanceOf(LeaseLostError);
        await store.queue.finish(lease('r1', 'w2'), { status: 'done', now });
        await expect(store.queue.finish(lease('r1', 'w2'), { status: 'done', now })).rejects.toBeInstanceOf(LeaseLostError);
      });
    });

    describe('runs: steps and transitions', () => {
      it('saveStep records the step and its attempt, resets attempt and error, keeps the lease', async () => {
        await claimed(['r1']);
        const request = { method: 'POST', url: 'https://hooks.slack.test/x', body: { text: 'hi', blocks: [{ a: 1 }] } };
        const response = { status: 200, body: 'ok', headers: { 'x-id': '7' } };
        await store.queue.retryLater(lease('r1'), { attempt: attempt('r1', 's1', { outcome: 'retry', statusCode: 503, error: 'HTTP 503' }), availableAt: T0 + 10, error: 'HTTP 503', now: T0 + 1 });
        await store.queue.claim({ owner: 'w1', now: T0 + 10, leaseMs: LEASE, limit: 1 });
        const s1: StepRecord = { runId: 'r1', stepId: 's1', status: 'done', output: { ok: true, ts: '1.2' }, startedAt: T0 + 10, finishedAt: T0 + 12 };
        await store.queue.saveStep(lease('r1'), { step: s1, attempt: attempt('r1', 's1', { attempt: 2, startedAt: T0 + 10, durationMs: 2.4, statusCode: 200, request, response }), now: T0 + 12 });
        const s2: StepRecord = { runId: 'r1', stepId: 's2', status: 'skipped', output: null, startedAt: T0 + 12, finishedAt: T0 + 12 };
        await store.queue.saveStep(lease('r1'), { step: s2, now: T0 + 13 });
        const detail = await store.read.run('r1');
        expect(detail).toMatchObject({ status: 'running', attempt: 0, error: null, leaseOwner: 'w1', updatedAt: T0 + 13 });
        expect(detail?.steps).toEqual([s1, s2]);
        expect(detail?.attempts).toEqual([
          { runId: 'r1', stepId: 's1', attempt: 1, startedAt: T0, durationMs: 12, outcome: 'retry', statusCode: 503, error: 'HTTP 503' },
          { runId: 'r1', stepId: 's1', attempt: 2, startedAt: T0 + 10, durationMs: 2, outcome: 'ok', statusCode: 200, request, response },
        ]);
        expect(detail?.attempts[0]).not.toHaveProperty('request');
        expect(detail?.attempts[0]).not.toHaveProperty('response');
      });

      it('writes issued together are stored together, and one with a lost lease fails alone', async () => {
        await claimed(['g1', 'g2', 'g3', 'g4']);
        const step = (runId: string): StepRecord => ({ runId, stepId: 's', status: 'done', output: runId, startedAt: T0, finishedAt: T0 + 1 });
        const results = await Promise.all([
          settle(store.queue.saveStep(lease('g1'), { step: step('g1'), now: T0 + 1 })),
          settle(store.queue.finish(lease('g2', 'intruder'), { status: 'done', step: step('g2'), now: T0 + 1 })),
          settle(store.queue.finish(lease('g3'), { status: 'done', step: step('g3'), now: T0 + 1 })),
          settle(store.queue.retryLater(lease('g4'), { attempt: attempt('g4', 's', { outcome: 'retry' }), availableAt: T0 + 9, error: 'e', now: T0 + 1 })),
          settle(receive(store)),
        ]);
        expect(results.map((r) => r.ok)).toEqual([true, false, true, true, true]);
        expect(results[1]!.ok ? undefined : results[1]!.error).toBeInstanceOf(LeaseLostError);
        expect((await store.read.run('g1'))?.steps).toEqual([step('g1')]);
        expect(await store.read.run('g2')).toMatchObject({ status: 'running', steps: [] });
        expect(await store.read.run('g3')).toMatchObject({ status: 'done', steps: [step('g3')] });
        expect(await store.read.run('g4')).toMatchObject({ status: 'retrying', availableAt: T0 + 9 });
      });

      it('a claim carries the finished steps so the worker continues where it stopped', async () => {
        await claimed(['r1']);
        const s1: StepRecord = { runId: 'r1', stepId: 'first', status: 'done', output: [1, 'two', { three: 3 }], startedAt: T0 + 5, finishedAt: T0 + 6 };
        const s2: StepRecord = { runId: 'r1', stepId: 'again', status: 'done', output: 'text', startedAt: T0 + 5, finishedAt: T0 + 7 };
        await store.queue.saveStep(lease('r1'), { step: s1, now: T0 + 6 });
        await store.queue.saveStep(lease('r1'), { step: s2, now: T0 + 7 });
        await store.queue.release(lease('r1'), { availableAt: T0 + 8, now: T0 + 7 });
        const [again] = await store.queue.claim({ owner: 'w2', now: T0 + 8, leaseMs: LEASE, limit: 1 });
        expect(again?.steps).toEqual([s1, s2]);
      });

      it('park makes the run wait: a waiting step, a wait, no lease, not claimable', async () => {
        const trigger = await createRuns(store, [run('r1', { recipe: 'vip' })], T0, { source: 'meru', type: 'email.received' });
        await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 1 });
        await store.queue.park(lease('r1'), { wait: { stepId: 'reply', source: 'muro', type: 'message.*', deadline: T0 + 500 }, now: T0 + 2 });
        const detail = await store.read.run('r1');
        expect(detail).toMatchObject({ status: 'waiting', leaseOwner: null, leaseUntil: null, updatedAt: T0 + 2 });
        expect(detail?.steps).toEqual([{ runId: 'r1', stepId: 'reply', status: 'waiting', output: null, startedAt: T0 + 2, finishedAt: null }]);
        expect(await store.queue.claim({ owner: 'w1', now: T0 + LEASE * 10, leaseMs: LEASE, limit: 10 })).toEqual([]);
        expect(await store.waits.waiting('muro')).toEqual([
          {
            runId: 'r1',
            stepId: 'reply',
            recipe: 'vip',
            recipeVersion: null,
            source: 'muro',
            type: 'message.*',
            deadline: T0 + 500,
            status: 'waiting',
            trigger: await store.read.event(trigger),
          },
        ]);
        expect(await store.waits.waiting('meru')).toEqual([]);
        expect(await store.waits.nextDeadline()).toBe(T0 + 500);
      });

      it('retryLater counts the attempt and makes the run due later; release keeps retrying', async () => {
        await claimed(['r1']);
        await store.queue.retryLater(lease('r1'), { attempt: attempt('r1', 's1', { outcome: 'retry', error: 'timeout' }), availableAt: T0 + 100, error: 'timeout', now: T0 + 1 });
        expect(await store.read.run('r1')).toMatchObject({
          status: 'retrying',
          attempt: 1,
          availableAt: T0 + 100,
          error: 'timeout',
          leaseOwner: null,
          leaseUntil: null,
          updatedAt: T0 + 1,
        });
        expect(await store.queue.claim({ owner: 'w1', now: T0 + 99, leaseMs: LEASE, limit: 10 })).toEqual([]);
        const [again] = await store.queue.claim({ owner: 'w2', now: T0 + 100, leaseMs: LEASE, limit: 10 });
        expect(again).toMatchObject({ id: 'r1', status: 'running', attempt: 1, leaseOwner: 'w2' });
        await store.queue.retryLater(lease('r1', 'w2'), { attempt: attempt('r1', 's1', { attempt: 2, outcome: 'retry' }), availableAt: T0 + 300, error: 'timeout again', now: T0 + 101 });
        expect(await store.read.run('r1')).toMatchObject({ status: 'retrying', attempt: 2, error: 'timeout again' });
        await store.queue.claim({ owner: 'w2', now: T0 + 300, leaseMs: LEASE, limit: 10 });
        await store.queue.release(lease('r1', 'w2'), { availableAt: T0 + 400, now: T0 + 301 });
        const released = await store.read.run('r1');
        expect(released).toMatchObject({ status: 'retrying', attempt: 2, availableAt: T0 + 400, leaseOwner: null, updatedAt: T0 + 301 });
        expect(released?.attempts.map((a) => a.attempt)).toEqual([1, 2]);
      });

      it('release gives the run back queued, untouched, due at availableAt', async () => {
        await claimed(['r1']);
        await store.queue.saveStep(lease('r1'), { step: { runId: 'r1', stepId: 's1', status: 'done', output: 1, startedAt: T0, finishedAt: T0 }, now: T0 });
        await store.queue.release(lease('r1'), { availableAt: T0 + 50, now: T0 + 1 });
        const detail = await store.read.run('r1');
        expect(detail).toMatchObject({ status: 'queued', attempt: 0, availableAt: T0 + 50, leaseOwner: null, leaseUntil: null, attempts: [] });
        expect(detail?.steps).toHaveLength(1);
        expect(await store.queue.claim({ owner: 'w1', now: T0 + 49, leaseMs: LEASE, limit: 1 })).toEqual([]);
        expect(await store.queue.claim({ owner: 'w1', now: T0 + 50, leaseMs: LEASE, limit: 1 })).toHaveLength(1);
      });

      it('finish ends the run done, or dead with its error and failed attempt', async () => {
        await claimed(['ok', 'bad']);
        await store.queue.finish(lease('ok'), { status: 'done', attempt: attempt('ok', 's1'), now: T0 + 5 });
        await store.queue.finish(lease('bad'), { status: 'dead', error: 'HTTP 400: bad request', attempt: attempt('bad', 's1', { outcome: 'failed', statusCode: 400, error: 'bad request' }), now: T0 + 6 });
        expect(await store.read.run('ok')).toMatchObject({ status: 'done', error: null, leaseOwner: null, leaseUntil: null, updatedAt: T0 + 5 });
        const bad = await store.read.run('bad');
        expect(bad).toMatchObject({ status: 'dead', error: 'HTTP 400: bad request', leaseOwner: null, updatedAt: T0 + 6 });
        expect(bad?.attempts).toEqual([attempt('bad', 's1', { outcome: 'failed', statusCode: 400, error: 'bad request' })]);
        expect(await store.queue.claim({ owner: 'w1', now: T0 + 10 * LEASE, leaseMs: LEASE, limit: 10 })).toEqual([]);
        expect(await store.read.runCounts()).toEqual({ done: 1, dead: 1 });
      });
    });

    describe('runs: finish with the last step', () => {
      it('stores the last step and ends the run in one call; with a lost lease, neither', async () => {
        await claimed(['last', 'lost']);
        const step = (runId: string) => ({ runId, stepId: 'final', status: 'done' as const, output: { ok: 1 }, startedAt: T0, finishedAt: T0 + 1 });
        await store.queue.finish(lease('last'), { status: 'done', attempt: attempt('last', 'final'), step: step('last'), now: T0 + 5 });
        const done = await store.read.run('last');
        expect(done).toMatchObject({ status: 'done', steps: [{ stepId: 'final', status: 'done', output: { ok: 1 } }] });
        expect(done?.attempts).toHaveLength(1);
        await expect(store.queue.finish({ runId: 'lost', owner: 'someone-else' }, { status: 'done', step: step('lost'), now: T0 + 5 })).rejects.toBeInstanceOf(LeaseLostError);
        expect((await store.read.run('lost'))?.steps).toEqual([]);
      });
    });

    describe('announcements (hookline/run.dead)', () => {
      const notice = (id: string, now = T0 + 5) => ({ event: newEvent({ source: 'hookline', eventId: id, type: 'run.dead', receivedAt: now }), dedupTtlMs: TTL });

      it('finish appends the announced event in the same transaction; with a lost lease, neither; an id seen before once', async () => {
        await claimed(['d1', 'd2', 'd3']);
        await store.queue.finish(lease('d1'), { status: 'dead', error: 'boom', now: T0 + 5, announce: notice('run.dead:d1') });
        const [stored] = await store.read.receipts('run.dead:d1', 'hookline');
        expect(stored).toMatchObject({ source: 'hookline', type: 'run.dead', status: 'received' });
        expect((await store.dispatch.pending(10)).map((e) => e.eventId)).toContain('run.dead:d1');

        await expect(store.queue.finish(lease('d2', 'someone-else'), { status: 'dead', error: 'x', now: T0 + 5, announce: notice('run.dead:d2') })).rejects.toBeInstanceOf(LeaseLostError);
        expect(await store.read.receipts('run.dead:d2')).toEqual([]);
        expect(await store.read.run('d2')).toMatchObject({ status: 'running' });

        await store.queue.finish(lease('d3'), { status: 'dead', error: 'x', now: T0 + 6, announce: notice('run.dead:d1', T0 + 6) });
        expect(await store.read.run('d3')).toMatchObject({ status: 'dead' });
        expect(await store.read.receipts('run.dead:d1')).toHaveLength(1);
      });

      it('a dispatch commit appends the announcements of its plan, only when it dispatches the event', async () => {
        const seq = await receive(store);
        await commit(store, seq, { runs: [run('born-dead', { status: 'dead', error: 'if failed' })], announce: [notice('run.dead:born-dead')] });
        expect(await store.read.receipts('run.dead:born-dead')).toHaveLength(1);
        await commit(store, seq, { announce: [notice('run.dead:again')] });
        expect(await store.read.receipts('run.dead:again')).toEqual([]);
      });
    });

    describe('runs: retry, list, counts, owners', () => {
      it('retry puts a dead run back in the queue, attempt reset, finished steps kept', async () => {
        await claimed(['r1']);
        await store.queue.saveStep(lease('r1'), { step: { runId: 'r1', stepId: 's1', status: 'done', output: 'kept', startedAt: T0, finishedAt: T0 }, now: T0 });
        await store.queue.retryLater(lease('r1'), { attempt: attempt('r1', 's2', { outcome: 'retry' }), availableAt: T0 + 10, error: 'first failure', now: T0 + 1 });
        await store.queue.claim({ owner: 'w1', now: T0 + 10, leaseMs: LEASE, limit: 1 });
        await store.queue.finish(lease('r1'), { status: 'dead', error: 'gave up', attempt: attempt('r1', 's2', { attempt: 2, outcome: 'failed' }), now: T0 + 11 });
        expect(await store.read.run('r1')).toMatchObject({ status: 'dead', attempt: 1 });
        expect(await store.operations.retryRun('r1', T0 + 20)).toBe('retried');
        expect(await store.read.run('r1')).toMatchObject({ status: 'queued', attempt: 0, availableAt: T0 + 20, updatedAt: T0 + 20, leaseOwner: null, leaseUntil: null });
        const [again] = await store.queue.claim({ owner: 'w2', now: T0 + 20, leaseMs: LEASE, limit: 1 });
        expect(again?.steps.map((s) => [s.stepId, s.output])).toEqual([['s1', 'kept']]);
        expect(await store.operations.retryRun('r1', T0 + 21)).toBe('not_dead');
      });

      it('retry refuses what it cannot retry: not_found, not_dead, key_busy', async () => {
        await createRuns(store, [run('dead', { key: 'k', status: 'dead', error: 'if failed' }), run('queued')]);
        expect(await store.operations.retryRun('nope', T0)).toBe('not_found');
        expect(await store.operations.retryRun('queued', T0)).toBe('not_dead');
        await createRuns(store, [run('live', { key: 'k' })], T0 + 1);
        expect(await store.operations.retryRun('dead', T0 + 2)).toBe('key_busy');
        expect((await store.read.run('dead'))?.status).toBe('dead');
        const [live] = await store.queue.claim({ owner: 'w1', now: T0 + 2, leaseMs: LEASE, limit: 10 }).then((rs) => rs.filter((r) => r.id === 'live'));
        await store.queue.finish(lease(live!.id), { status: 'done', now: T0 + 3 });
        expect(await store.operations.retryRun('dead', T0 + 4)).toBe('retried');
        expect(await store.operations.retryRun('dead', T0 + 4)).toBe('not_dead');
      });

      it('retryAllDead retries every dead run it can and says how many', async () => {
        await createRuns(store, [
          run('d1', { key: 'k', status: 'dead', error: 'x' }),
          run('d2', { key: 'k', status: 'dead', error: 'x' }),
          run('d3', { status: 'dead', error: 'x' }),
          run('q1'),
        ]);
        expect(await store.operations.retryAllDead(T0 + 1)).toBe(2);
        expect(await store.read.runCounts()).toEqual({ queued: 3, dead: 1 });
        expect((await store.read.run('d3'))?.status).toBe('queued');
        expect(await store.operations.retryAllDead(T0 + 2)).toBe(0);
      });

      it('list filters by status and recipe, newest id first, and pages with before and limit', async () => {
        await createRuns(store, [run('r01', { recipe: 'alpha' }), run('r02', { recipe: 'beta' }), run('r03', { recipe: 'alpha', status: 'dead', error: 'e' })]);
        await createRuns(store, [run('r04', { recipe: 'beta' }), run('r05', { recipe: 'alpha' })], T0 + 1);
        const ids = (list: Array<{ id: string }>) => list.map((r) => r.id);
        expect(ids(await store.read.runs({}))).toEqual(['r05', 'r04', 'r03', 'r02', 'r01']);
        expect(ids(await store.read.runs({ status: 'dead' }))).toEqual(['r03']);
        expect(ids(await store.read.runs({ recipe: 'alpha' }))).toEqual(['r05', 'r03', 'r01']);
        expect(ids(await store.read.runs({ recipe: 'alpha', status: 'queued' }))).toEqual(['r05', 'r01']);
        expect(ids(await store.read.runs({ limit: 2 }))).toEqual(['r05', 'r04']);
        expect(ids(await store.read.runs({ before: 'r04', limit: 2 }))).toEqual(['r03', 'r02']);
        expect(ids(await store.read.runs({ before: 'r02' }))).toEqual(['r01']);
        const [first] = await store.read.runs({ recipe: 'beta' });
        expect(first).toMatchObject({ id: 'r04', recipe: 'beta', status: 'queued', createdAt: T0 + 1 });
        expect(first).not.toHaveProperty('steps');
      });

      it('list returns at most 50 by default', async () => {
        await createRuns(store, Array.from({ length: 55 }, (_, i) => run(`r${String(i).padStart(3, '0')}`)));
        expect(await store.read.runs({})).toHaveLength(50);
        expect((await store.read.runs({}))[0]?.id).toBe('r054');
      });

      it('get and forEvent return runs with their steps and attempts', async () => {
        const seq = await createRuns(store, [run('b'), run('a')]);
        await createRuns(store, [run('c')]);
        await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 10 });
        await store.queue.saveStep(lease('a'), { step: { runId: 'a', stepId: 's', status: 'done', output: { n: 1 }, startedAt: T0, finishedAt: T0 }, attempt: attempt('a', 's'), now: T0 });
        const runs = await store.read.runsOfEvent(seq);
        expect(runs.map((r) => r.id)).toEqual(['a', 'b']);
        expect(runs[0]?.steps.map((s) => s.output)).toEqual([{ n: 1 }]);
        expect(runs[0]?.attempts).toEqual([attempt('a', 's')]);
        expect(runs[1]).toMatchObject({ steps: [], attempts: [] });
        expect(await store.read.runsOfEvent(seq + 1000)).toEqual([]);
        expect(await store.read.run('nope')).toBeUndefined();
      });

      it('counts runs by status, leaving out statuses with none', async () => {
        expect(await store.read.runCounts()).toEqual({});
        await createRuns(store, [run('a'), run('b'), run('c'), run('d', { status: 'dead', error: 'x' })]);
        await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 1 });
        expect(await store.read.runCounts()).toEqual({ queued: 2, running: 1, dead: 1 });
      });

      it('nextDue is the earliest availableAt of the queued and retrying runs', async () => {
        expect(await store.queue.nextDue()).toBeUndefined();
        await createRuns(store, [run('soon')], T0 + 100);
        await createRuns(store, [run('later')], T0 + 200);
        expect(await store.queue.nextDue()).toBe(T0 + 100);
        const [soon] = await store.queue.claim({ owner: 'w1', now: T0 + 100, leaseMs: LEASE, limit: 1 });
        expect(await store.queue.nextDue()).toBe(T0 + 200);
        await store.queue.retryLater(lease(soon!.id), { attempt: attempt(soon!.id, 's'), availableAt: T0 + 150, error: 'e', now: T0 + 101 });
        expect(await store.queue.nextDue()).toBe(T0 + 150);
        await store.queue.claim({ owner: 'w1', now: T0 + 300, leaseMs: LEASE, limit: 10 });
        expect(await store.queue.nextDue()).toBeUndefined();
      });

      it('leaseOwners names the owners of running runs; releaseOwner makes theirs claimable at once', async () => {
        await createRuns(store, [run('a'), run('b'), run('c')]);
        await store.queue.claim({ owner: 'w1', now: T0, leaseMs: LEASE, limit: 2 });
        await store.queue.claim({ owner: 'w2', now: T0, leaseMs: LEASE, limit: 1 });
        expect((await store.queue.leaseOwners()).sort()).toEqual(['w1', 'w2']);
        const [a] = await store.read.runs({ status: 'running' }).then((rs) => rs.filter((r) => r.leaseOwner === 'w1'));
        await store.queue.retryLater(lease(a!.id), { attempt: attempt(a!.id, 's'), availableAt: T0 + 5, error: 'e', now: T0 + 1 });
        await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 1 });
        expect(await store.queue.releaseOwner('w1', T0 + 6)).toBe(2);
        expect(await store.queue.releaseOwner('w1', T0 + 6)).toBe(0);
        expect(await store.queue.leaseOwners()).toEqual(['w2']);
        expect(await store.read.run(a!.id)).toMatchObject({ status: 'retrying', attempt: 1, leaseOwner: null, availableAt: T0 + 6 });
        const taken = await store.queue.claim({ owner: 'w3', now: T0 + 6, leaseMs: LEASE, limit: 10 });
        expect(taken).toHaveLength(2);
        expect(taken.every((r) => r.leaseOwner === 'w3')).toBe(true);
      });
    });

    describe('waits', () => {
      it('waiting(source) lists waiting waits with the recipe and the trigger event, oldest first', async () => {
        await parked('w-a', T0 + 100, 'muro', { source: 'meru', type: 'email.received' });
        await parked('w-b', T0 + 50, 'muro');
        await parked('w-c', T0 + 50, 'meru');
        const waits = await store.waits.waiting('muro');
        expect(waits.map((w) => [w.runId, w.source, w.type, w.status, w.deadline])).toEqual([
          ['w-a', 'muro', 'message.*', 'waiting', T0 + 100],
          ['w-b', 'muro', 'message.*', 'waiting', T0 + 50],
        ]);
        expect(waits[0]?.trigger).toMatchObject({ source: 'meru', type: 'email.received', status: 'dispatched' });
        expect(waits[0]?.trigger.headers).toBeTypeOf('object');
        expect((await store.waits.waiting('meru')).map((w) => w.runId)).toEqual(['w-c']);
        await resolveWait(store, { runId: 'w-a', stepId: 'wait', output: {} }, T0 + 2);
        expect((await store.waits.waiting('muro')).map((w) => w.runId)).toEqual(['w-b']);
      });

      it('expire times out due waits once: output { timed_out: true }, run queued', async () => {
        await parked('early', T0 + 10);
        await parked('due', T0 + 20);
        await parked('later', T0 + 30);
        expect(await store.waits.expire(T0 + 9, 10)).toEqual([]);
        expect(await store.waits.expire(T0 + 25, 1)).toEqual([{ runId: 'early', stepId: 'wait' }]);
        expect(await store.waits.expire(T0 + 25, 10)).toEqual([{ runId: 'due', stepId: 'wait' }]);
        expect(await store.waits.expire(T0 + 25, 10)).toEqual([]);
        const early = await store.read.run('early');
        expect(early).toMatchObject({ status: 'queued', availableAt: T0 + 25, updatedAt: T0 + 25 });
        expect(early?.steps).toEqual([{ runId: 'early', stepId: 'wait', status: 'done', output: { timed_out: true }, startedAt: T0 + 1, finishedAt: T0 + 25 }]);
        expect((await store.waits.waiting('muro')).map((w) => w.runId)).toEqual(['later']);
        expect((await store.queue.claim({ owner: 'w9', now: T0 + 25, leaseMs: LEASE, limit: 10 })).map((r) => r.id).sort()).toEqual(['due', 'early']);
      });

      it('expire is exactly once when many sweeps run at the same moment', async () => {
        const ids = Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, '0')}`);
        for (const id of ids) await parked(id, T0 + 10);
        const sweeps = await Promise.all(Array.from({ length: 12 }, () => store.waits.expire(T0 + 10, 5)));
        const expired = sweeps.flat().map((w) => w.runId);
        // Each sweep takes at most its limit; together they time out every wait, none twice.
        expect(sweeps.every((s) => s.length <= 5)).toBe(true);
        expect(expired.sort()).toEqual(ids);
        expect(await store.waits.nextDeadline()).toBeUndefined();
      });

      it('expire and resolve racing for one wait: exactly one wins', async () => {
        for (let i = 0; i < 5; i++) {
          const id = `race${i}`;
          await parked(id, T0 + 10);
          const [expired, resolved] = await Promise.all([
            store.waits.expire(T0 + 10, 10),
            resolveWait(store, { runId: id, stepId: 'wait', output: { timed_out: false, event: { n: i } } }, T0 + 10),
          ]);
          expect(expired.length + (resolved ? 1 : 0)).toBe(1);
          const output = (await store.read.run(id))?.steps[0]?.output;
          expect(output).toEqual(resolved ? { timed_out: false, event: { n: i } } : { timed_out: true });
        }
      });

      it('nextDeadline is the earliest deadline still waiting', async () => {
        expect(await store.waits.nextDeadline()).toBeUndefined();
        await parked('a', T0 + 300);
        await parked('b', T0 + 100);
        await parked('c', T0 + 200);
        expect(await store.waits.nextDeadline()).toBe(T0 + 100);
        await resolveWait(store, { runId: 'b', stepId: 'wait', output: {} }, T0 + 2);
        expect(await store.waits.nextDeadline()).toBe(T0 + 200);
        await store.waits.expire(T0 + 1_000, 10);
        expect(await store.waits.nextDeadline()).toBeUndefined();
      });

      it('resolve resolves a waiting wait once and queues its run', async () => {
        await parked('r1', T0 + 100);
        const output = { timed_out: false, event: { seq: 7 } };
        expect(await resolveWait(store, { runId: 'r1', stepId: 'wait', output }, T0 + 5)).toBe(true);
        expect(await resolveWait(store, { runId: 'r1', stepId: 'wait', output: 'second' }, T0 + 6)).toBe(false);
        expect(await resolveWait(store, { runId: 'nope', stepId: 'wait', output }, T0 + 6)).toBe(false);
        expect(await store.waits.expire(T0 + 1_000, 10)).toEqual([]);
        const detail = await store.read.run('r1');
        expect(detail).toMatchObject({ status: 'queued', availableAt: T0 + 5 });
        expect(detail?.steps).toEqual([{ runId: 'r1', stepId: 'wait', status: 'done', output, startedAt: T0 + 1, finishedAt: T0 + 5 }]);
        const [claimedRun] = await store.queue.claim({ owner: 'w2', now: T0 + 5, leaseMs: LEASE, limit: 1 });
        expect(claimedRun?.steps[0]?.output).toEqual(output);
      });

      it('a run parked again on the same step waits anew', async () => {
        await parked('r1', T0 + 100);
        await resolveWait(store, { runId: 'r1', stepId: 'wait', output: 1 }, T0 + 5);
        await store.queue.claim({ owner: 'w1', now: T0 + 5, leaseMs: LEASE, limit: 1 });
        await store.queue.park(lease('r1'), { wait: { stepId: 'wait', source: 'muro', type: 'message.*', deadline: T0 + 200 }, now: T0 + 6 });
        expect((await store.waits.waiting('muro')).map((w) => [w.runId, w.deadline])).toEqual([['r1', T0 + 200]]);
        expect((await store.read.run('r1'))?.steps[0]).toMatchObject({ status: 'waiting', output: null, finishedAt: null });
        expect(await store.waits.expire(T0 + 200, 10)).toEqual([{ runId: 'r1', stepId: 'wait' }]);
      });
    });

    describe('tickets', () => {
      const email = (over: Partial<TicketMessageInput> = {}): TicketMessageInput => ({
        idempotencyKey: uid('key'),
        eventSeq: 1,
        receivedAt: T0,
        from: 'Jordan.Lee@Client.example',
        fromName: 'Jordan Lee',
        recipients: [],
        subject: 'Invoice is wrong',
        text: 'Hello',
        html: null,
        messageId: `<${uid('m')}@client.example>`,
        replyTo: [],
        attachments: [],
        ...over,
      });
      // The threading rule is the domain's, the same for every backend; the store gathers its candidates and applies its decision.
      const record = (input: TicketMessageInput, now: number) => store.records.tickets.record(input, now, threadEmail);

      it('opens a ticket for a new email, with its customer by sender address and its attachments', async () => {
        const result = await record(
          email({ messageId: '<a1@x>', attachments: [{ filename: 'shot.png', contentType: 'image/png', size: 70, sha256: 'ab'.repeat(32), saved: true, contentId: null }] }),
          T0,
        );
        expect(result).toMatchObject({ created: true, duplicate: false, threading: 'new ticket' });
        const ticket = await store.read.ticket(result.ticketId);
        expect(ticket).toMatchObject({ subject: 'Invoice is wrong', status: 'open', messageCount: 1, customer: { email: 'jordan.lee@client.example', name: 'Jordan Lee' } });
        expect(ticket!.messages[0]).toMatchObject({ from: 'Jordan.Lee@Client.example', messageId: '<a1@x>', threading: 'new ticket', attachments: [{ filename: 'shot.png', sha256: 'ab'.repeat(32), saved: true, size: 70 }] });
      });

      it('appends a reply (In-Reply-To / References, or a [#T-n] number) to its ticket; the same customer', async () => {
        const first = await record(email({ messageId: '<root@x>', eventSeq: 1 }), T0);
        const reply = await record(email({ messageId: '<r1@x>', replyTo: ['<root@x>'], subject: 'Re: Invoice is wrong', eventSeq: 2, from: 'jordan.lee@client.example' }), T0 + 1);
        expect(reply).toMatchObject({ ticketId: first.ticketId, customerId: first.customerId, created: false, threading: `appended to T-${first.ticketId} (replies to <root@x>)` });
        const byRefs = await record(email({ messageId: '<r2@x>', replyTo: ['<unknown@x>', '<r1@x>'], eventSeq: 3 }), T0 + 2);
        expect(byRefs.ticketId).toBe(first.ticketId);
        const byNumber = await record(email({ ticketNumber: first.ticketId, subject: `Re: [#T-${first.ticketId}]`, eventSeq: 4 }), T0 + 3);
        expect(byNumber).toMatchObject({ ticketId: first.ticketId, threading: `appended to T-${first.ticketId} (subject [#T-${first.ticketId}])` });
        const other = await record(email({ eventSeq: 5, subject: 'Another matter' }), T0 + 4);
        expect(other).toMatchObject({ created: true });
        expect(other.ticketId).not.toBe(first.ticketId);
        expect((await store.read.ticket(first.ticketId))!.messageCount).toBe(4);
      });

      it('threads a reply that was recorded before the email it answers, and names the ticket after the earliest', async () => {
        const reply = await record(email({ messageId: '<late@x>', replyTo: ['<early@x>'], subject: 'Re: Help', eventSeq: 11 }), T0);
        const original = await record(email({ messageId: '<early@x>', subject: 'Help', eventSeq: 10 }), T0 + 1);
        expect(original).toMatchObject({ ticketId: reply.ticketId, created: false, threading: `appended to T-${reply.ticketId} (a message of it replies to <early@x>)` });
        const ticket = await store.read.ticket(reply.ticketId);
        expect(ticket!.subject).toBe('Help');
        expect(ticket!.messages.map((m) => m.messageId)).toEqual(['<early@x>', '<late@x>']);
      });

      it('a stranger who names a ticket, replies to its messages or is replied to by them opens a new ticket, and why is recorded', async () => {
        const first = await record(email({ messageId: '<root@x>', replyTo: ['<asked-before@x>'] }), T0);
        const stranger = (over: Partial<TicketMessageInput>) => email({ from: 'Mallory@Evil.example', fromName: 'Mallory', ...over });
        const refused = (how: string) => `refused: sender mallory@evil.example is not a participant of T-${first.ticketId} (${how})`;
        const byNumber = await record(stranger({ ticketNumber: first.ticketId, subject: `Re: [#T-${first.ticketId}] pay here` }), T0 + 1);
        const byReply = await record(stranger({ replyTo: ['<root@x>'] }), T0 + 2);
        const byRepliedTo = await record(stranger({ messageId: '<asked-before@x>' }), T0 + 3);
        expect([byNumber, byReply, byRepliedTo].map((r) => [r.created, r.threading])).toEqual([
          [true, refused(`subject [#T-${first.ticketId}]`)],
          [true, refused('replies to <root@x>')],
          [true, refused('a message of it replies to <asked-before@x>')],
        ]);
        expect(new Set([first.ticketId, byNumber.ticketId, byReply.ticketId, byRepliedTo.ticketId]).size).toBe(4);
        expect((await store.read.ticket(first.ticketId))!.messageCount).toBe(1);
        const opened = await store.read.ticket(byNumber.ticketId);
        expect(opened).toMatchObject({ subject: `Re: [#T-${first.ticketId}] pay here`, customer: { email: 'mallory@evil.example' } });
        expect(opened!.messages[0]!.threading).toBe(refused(`subject [#T-${first.ticketId}]`));
        // A sender with no address is nobody's participant, not even of a ticket another such email opened.
        const nobody = await record(email({ from: 'unknown', fromName: null }), T0 + 4);
        expect(await record(email({ from: 'unknown', fromName: null, ticketNumber: nobody.ticketId }), T0 + 5)).toMatchObject({ created: true });
      });

      it('participants: the customer and every To/Cc address of the ticket\'s messages (any case) may reply, and may bring others in', async () => {
        const first = await record(email({ recipients: ['ann@client.example'] }), T0);
        const number = { ticketNumber: first.ticketId, subject: `Re: [#T-${first.ticketId}]` };
        expect(await record(email({ ...number, from: 'ANN@client.example', recipients: ['bob@partner.example'] }), T0 + 1)).toMatchObject({ ticketId: first.ticketId, created: false });
        expect(await record(email({ ...number, from: 'bob@partner.example' }), T0 + 2)).toMatchObject({ ticketId: first.ticketId, created: false });
        expect(await record(email({ ...number, from: 'carol@partner.example' }), T0 + 3)).toMatchObject({ created: true });
        expect((await store.read.ticket(first.ticketId))!.participants).toEqual(['ann@client.example', 'bob@partner.example', 'jordan.lee@client.example']);
      });

      it('takes the first reference the sender may use, and records the ones refused', async () => {
        const mine = await record(email({ from: 'ann@client.example', messageId: '<mine@x>' }), T0);
        const theirs = await record(email({ messageId: '<theirs@x>' }), T0 + 1);
        const reply = await record(email({ from: 'ann@client.example', ticketNumber: theirs.ticketId, subject: `[#T-${theirs.ticketId}]`, replyTo: ['<theirs@x>', '<mine@x>'] }), T0 + 2);
        expect(reply).toMatchObject({
          ticketId: mine.ticketId,
          created: false,
          threading: `appended to T-${mine.ticketId} (replies to <mine@x>); refused: sender ann@client.example is not a participant of T-${theirs.ticketId} (subject [#T-${theirs.ticketId}])`,
        });
      });

      it('hands the rule every candidate in order with its participants, and applies its decision', async () => {
        const a = await record(email({ from: 'a@one.example', messageId: '<a@x>', recipients: ['z@one.example'] }), T0);
        const b = await record(email({ from: 'b@two.example', messageId: '<b@x>', replyTo: ['<c@x>'] }), T0 + 1);
        const seen: unknown[] = [];
        const result = await store.records.tickets.record(
          email({ from: 'c@three.example', messageId: '<c@x>', ticketNumber: b.ticketId, replyTo: ['<nowhere@x>', '<a@x>', '<b@x>'] }),
          T0 + 2,
          (sender, candidates) => {
            seen.push(sender, candidates);
            return { ticketId: a.ticketId, threading: 'chosen by the test' };
          },
        );
        expect(seen).toEqual([
          'c@three.example',
          [
            { ticketId: b.ticketId, via: 'subject', ref: `[#T-${b.ticketId}]`, participants: ['b@two.example'] },
            { ticketId: a.ticketId, via: 'reply', ref: '<a@x>', participants: ['a@one.example', 'z@one.example'] },
            { ticketId: b.ticketId, via: 'reply', ref: '<b@x>', participants: ['b@two.example'] },
            { ticketId: b.ticketId, via: 'replied-by', ref: '<c@x>', participants: ['b@two.example'] },
          ],
        ]);
        expect(result).toMatchObject({ ticketId: a.ticketId, created: false, threading: 'chosen by the test' });
        expect((await store.read.ticket(a.ticketId))!.participants).toEqual(['a@one.example', 'c@three.example', 'z@one.example']);
      });

      it('records nothing twice for the same idempotency key', async () => {
        const input = email();
        const first = await record(input, T0);
        const again = await record({ ...input }, T0 + 5);
        expect(again).toEqual({ ...first, created: false, duplicate: true });
        expect((await store.read.ticket(first.ticketId))!.messageCount).toBe(1);
      });

      it('lists tickets, most recently active first, filtered by status or search', async () => {
        const a = await record(email({ subject: 'Printer on fire', from: 'a@one.example' }), T0);
        const b = await record(email({ subject: 'Login fails', from: 'b@two.example' }), T0 + 10);
        expect((await store.read.tickets({})).map((t) => t.id)).toEqual([b.ticketId, a.ticketId]);
        expect((await store.read.tickets({ search: 'printer' })).map((t) => t.id)).toEqual([a.ticketId]);
        expect((await store.read.tickets({ search: 'b@two' })).map((t) => t.id)).toEqual([b.ticketId]);
        expect(await store.read.tickets({ status: 'closed' })).toEqual([]);
        expect(await store.read.ticket(999_999)).toBeUndefined();
      });
    });

    describe('tables', () => {
      it('creates the table on first use and returns rows newest first', async () => {
        expect(await store.read.tableRows('orders', 10)).toEqual([]);
        expect(await store.records.tables.insert({ table: 'orders', row: { customer: 'ann@example.com', amount: 12.5 }, idempotencyKey: 'k1', now: T0 })).toBe(true);
        expect(await store.records.tables.insert({ table: 'orders', row: { customer: 'bob@example.com', amount: 3 }, idempotencyKey: 'k2', now: T0 + 1 })).toBe(true);
        const rows = await store.read.tableRows('orders', 10);
        expect(rows).toHaveLength(2);
        expect(rows[0]).toMatchObject({ customer: 'bob@example.com', amount: 3, stored_at: T0 + 1, idempotency_key: 'k2' });
        expect(rows[1]).toMatchObject({ customer: 'ann@example.com', amount: 12.5, stored_at: T0, idempotency_key: 'k1' });
        expect(rows[0]?.row_id).toBeTypeOf('number');
        expect(Number(rows[0]!.row_id)).toBeGreaterThan(Number(rows[1]!.row_id));
        expect(await store.read.tableRows('orders', 1)).toHaveLength(1);
      });

      it('adds a column for each new key; older rows have null there', async () => {
        await store.records.tables.insert({ table: 'contacts', row: { email: 'a@x.test' }, idempotencyKey: 'k1', now: T0 });
        await store.records.tables.insert({ table: 'contacts', row: { email: 'b@x.test', name: 'Bee', vip: true, visits: 4 }, idempotencyKey: 'k2', now: T0 });
        await store.records.tables.insert({ table: 'contacts', row: { name: 'Cee', note: null }, idempotencyKey: 'k3', now: T0 });
        const [c, b, a] = await store.read.tableRows('contacts', 10);
        expect(a).toMatchObject({ email: 'a@x.test', name: null, vip: null, visits: null });
        expect(b).toMatchObject({ email: 'b@x.test', name: 'Bee', visits: 4 });
        expect(Boolean(b?.vip)).toBe(true);
        expect(c).toMatchObject({ email: null, name: 'Cee', note: null });
      });

      it('makes a retried insert with the same idempotency key a no-op', async () => {
        expect(await store.records.tables.insert({ table: 'events_copy', row: { n: 1 }, idempotencyKey: 'same', now: T0 })).toBe(true);
        expect(await store.records.tables.insert({ table: 'events_copy', row: { n: 2 }, idempotencyKey: 'same', now: T0 + 1 })).toBe(false);
        expect(await store.records.tables.insert({ table: 'events_copy', row: { n: 2, extra: 'x' }, idempotencyKey: 'same', now: T0 + 1 })).toBe(false);
        const rows = await store.read.tableRows('events_copy', 10);
        expect(rows.map((r) => r.n)).toEqual([1]);
        // Idempotency keys are per table.
        expect(await store.records.tables.insert({ table: 'other_copy', row: { n: 3 }, idempotencyKey: 'same', now: T0 })).toBe(true);
      });

      it('refuses reserved and invalid table and column names with NonRetryableError', async () => {
        for (const table of ['events', 'runs', 'schema_migrations', 'store_tables', 'Orders', '1orders', 'my-table', 'a"; drop table events; --', '']) {
          await expect(store.records.tables.insert({ table, row: { a: 1 }, idempotencyKey: 'k', now: T0 }), table).rejects.toBeInstanceOf(NonRetryableError);
        }
        for (const column of ['row_id', 'stored_at', 'idempotency_key', 'Name', 'two words', 'x"y']) {
          await expect(store.records.tables.insert({ table: 'fine', row: { [column]: 1 }, idempotencyKey: 'k', now: T0 }), column).rejects.toBeInstanceOf(NonRetryableError);
        }
        await expect(store.records.tables.insert({ table: 'fine', row: {}, idempotencyKey: 'k', now: T0 })).rejects.toBeInstanceOf(NonRetryableError);
        // Names that indexes (hookline's own, or of another store table) already bear.
        await store.records.tables.insert({ table: 'orders', row: { a: 1 }, idempotencyKey: 'k', now: T0 });
        for (const taken of ['events_by_id', 'runs_live_key']) {
          await expect(store.records.tables.insert({ table: taken, row: { a: 1 }, idempotencyKey: 'k', now: T0 }), taken).rejects.toBeInstanceOf(NonRetryableError);
        }
        expect(await store.read.tableRows('fine', 10)).toEqual([]);
        expect(await store.read.tableRows('events', 10)).toEqual([]);
        expect(await store.read.eventCount()).toBe(0);
      });
    });

    describe('store', () => {
      it('ping resolves, subscribe returns an unsubscribe function', async () => {
        await store.ping();
        const off = store.subscribe(() => {});
        expect(off).toBeTypeOf('function');
        off();
      });
    });
  });
}
