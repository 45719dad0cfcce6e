// The data lifecycle (PRODUCT §10) on both backends, real files, an injected clock: what each
// retention removes and what it never removes, attachment files, exactly-once pruning across
// instances on PostgreSQL, a SQLite file that levels off, and the stats that report it all.
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pruner } from '../../src/lifecycle/pruner.ts';
import { lifecycleStats } from '../../src/lifecycle/stats.ts';
import type { Retention } from '../../src/lifecycle/retention-config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openStore } from '../../src/store/open.ts';
import { lockKey } from '../../src/store/postgres/db.ts';
import type { Store, TicketMessageInput } from '../../src/store/types.ts';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends, postgres, withPostgres, type FreshStore } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { attempt, commit, createRuns, receive, run, uid } from '../store/fixtures.ts';

const DAY = 86_400_000;
const NOW = Date.now();
const logger = createLogger('silent');
const retention = (r: Partial<Retention> = {}): Retention => ({ events: 30 * DAY, attachments: 90 * DAY, transcripts: 90 * DAY, tickets: null, summaries: null, ...r });

async function open(db: FreshStore): Promise<Store> {
  return openStore({ url: db.url, synchronous: 'normal', pool_size: 4, statement_timeout: 5_000 }, { longRunning: false });
}

/** An event at `at` dispatched with one run that ran a step (with its attempt) and finished `status`. */
async function finishedRun(store: Store, at: number, status: 'done' | 'dead' = 'done'): Promise<{ seq: number; runId: string }> {
  const runId = uid('run');
  const seq = await createRuns(store, [run(runId, { lease: { owner: 'w', until: at + 30_000 } })], at);
  await store.queue.finish(
    { runId, owner: 'w' },
    { status, step: { runId, stepId: 's1', status: 'done', output: { ok: true }, startedAt: at, finishedAt: at }, attempt: attempt(runId, 's1', { startedAt: at }), now: at },
  );
  return { seq, runId };
}

function ticketInput(at: number, seq: number, sha256: string | null = null): TicketMessageInput {
  return {
    idempotencyKey: uid('msg'),
    eventSeq: seq,
    receivedAt: at,
    from: `${uid('c')}@x.test`,
    recipients: [],
    subject: 'Help',
    text: 'hello',
    replyTo: [],
    attachments: sha256 ? [{ filename: 'a.pdf', contentType: 'application/pdf', size: 3, sha256, saved: true }] : [],
  };
}

describeBackends('data lifecycle', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let db: FreshStore;
  let store: Store;
  let clock: ReturnType<typeof manualClock>;
  const stores: Store[] = [];
  const pruner = (r: Partial<Retention> = {}, s = store) => new Pruner({ store: s, clock, logger, retention: () => retention(r), attachmentsDir: () => join(temp.dir, 'attachments') });
  const count = async (table: string) => Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
  const seqs = async () => (await db.query<{ seq: number }>('SELECT seq FROM events ORDER BY seq')).map((r) => Number(r.seq));

  beforeEach(async () => {
    temp = tempDir();
    db = await backend.fresh(temp.dir);
    store = await open(db);
    stores.push(store);
    clock = manualClock(NOW);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await db.drop();
    temp.cleanup();
  });

  it('removes events past retention with their runs, steps and attempts, and keeps the younger ones', async () => {
    const old = await finishedRun(store, NOW - 40 * DAY);
    const dead = await finishedRun(store, NOW - 35 * DAY, 'dead');
    const young = await finishedRun(store, NOW - 20 * DAY);
    const record = await pruner().pass();
    // Dedup records past their TTL (1 s here) go too, whatever the age of their events.
    expect(record?.counts).toMatchObject({ events: 2, runs: 2, steps: 2, attempts: 2, dedup: 3 });
    expect(await count('seen_events')).toBe(0);
    expect(await seqs()).toEqual([young.seq]);
    expect((await db.query<{ id: string }>('SELECT id FROM runs')).map((r) => r.id)).toEqual([young.runId]);
    expect(await count('steps')).toBe(1);
    expect(await count('attempts')).toBe(1);
    expect([old.seq, dead.seq]).not.toContain(young.seq);
    // Forever keeps everything.
    expect((await pruner({ events: null }).pass())?.counts.events).toBe(0);
  });

  it('takes what bulk replays and retries recorded of pruned events and runs with them', async () => {
    const old = await finishedRun(store, NOW - 40 * DAY, 'dead');
    const young = await finishedRun(store, NOW - 20 * DAY, 'dead');
    await store.bulk.begin({ id: 'op1', kind: 'replay', filter: {}, again: false, matched: 4, now: NOW });
    for (const [kind, target] of [['replay', String(old.seq)], ['retry', old.runId], ['replay', String(young.seq)], ['retry', young.runId]]) {
      await db.query(`INSERT INTO bulk_items (kind, target, operation_id) VALUES ('${kind}', '${target}', 'op1') RETURNING kind`);
    }
    await pruner().pass();
    const items = await db.query<{ kind: string; target: string }>('SELECT kind, target FROM bulk_items ORDER BY kind');
    expect(items.map((i) => [i.kind, i.target])).toEqual([['replay', String(young.seq)], ['retry', young.runId]]);
  });

  it('never removes an event a live run or a pending wait needs, nor one not yet dispatched', async () => {
    const before = await finishedRun(store, NOW - 50 * DAY);
    // A queued run: its event, and every event after it (its wait_for may look back over them), stay.
    const liveId = uid('run');
    const live = await createRuns(store, [run(liveId)], NOW - 49 * DAY);
    const after = await finishedRun(store, NOW - 48 * DAY);
    // A run waiting for an event (a pending wait).
    const waitingId = uid('run');
    const waiting = await createRuns(store, [run(waitingId, { lease: { owner: 'w', until: NOW } })], NOW - 47 * DAY);
    await store.queue.park({ runId: waitingId, owner: 'w' }, { wait: { stepId: 'reply', source: 'muro', type: 'message.created', deadline: NOW + DAY }, now: NOW - 47 * DAY });
    const undispatched = await receive(store, { receivedAt: NOW - 46 * DAY });

    expect((await pruner().pass())?.counts.events).toBe(1);
    expect(await seqs()).toEqual([live, after.seq, waiting, undispatched]);
    expect(before.seq).toBeLessThan(live);

    // The queued run ends: its event and the one after go; the waiting run still holds its own.
    const [claimed] = await store.queue.claim({ owner: 'w2', now: NOW, leaseMs: 30_000, limit: 10 });
    expect(claimed?.id).toBe(liveId);
    await store.queue.finish({ runId: liveId, owner: 'w2' }, { status: 'done', now: NOW });
    expect((await pruner().pass())?.counts).toMatchObject({ events: 2, runs: 2 });
    expect(await seqs()).toEqual([waiting, undispatched]);
    expect(await count('waits')).toBe(1);
  });

  it('removes transcript messages past their own retention, dated by the passes that saw their events', async () => {
    const message = (seq: number, id: string) => ({ conversationId: 'c1', messageId: id, eventSeq: seq, position: 0, message: { text: id } });
    const first = await receive(store, { receivedAt: NOW - 100 * DAY });
    await commit(store, first, { messages: [message(first, 'm1')] });
    clock.set(NOW - 100 * DAY);
    await pruner({ events: null }).pass(); // dates m1: at most NOW - 100d
    const second = await receive(store, { receivedAt: NOW - 50 * DAY });
    await commit(store, second, { messages: [message(second, 'm2')] });
    clock.set(NOW - 50 * DAY);
    await pruner({ events: null }).pass();
    clock.set(NOW);
    const record = await pruner({ events: null }).pass();
    expect(record?.counts.transcripts).toBe(1);
    expect((await store.records.conversations.transcript('c1')).map((m) => m.messageId)).toEqual(['m2']);
    expect(await seqs()).toEqual([first, second]); // events: forever
  });

  it('keeps tickets and summaries unless their retention is set, then removes them by age', async () => {
    const seq = await receive(store, { receivedAt: NOW - 400 * DAY });
    const rule = () => ({ ticketId: undefined, threading: 'new' });
    await store.records.tickets.record(ticketInput(NOW - 400 * DAY, seq, 'a'.repeat(64)), NOW - 400 * DAY, rule);
    await store.records.tickets.record(ticketInput(NOW - 10 * DAY, seq), NOW - 10 * DAY, rule);
    await store.records.tables.insert({ table: 'conversation_summaries', row: { summary: 'old' }, idempotencyKey: 'k1', now: NOW - 400 * DAY });
    await store.records.tables.insert({ table: 'conversation_summaries', row: { summary: 'new' }, idempotencyKey: 'k2', now: NOW - 10 * DAY });

    expect((await pruner().pass())?.counts).toMatchObject({ tickets: 0, summaries: 0 });
    expect(await count('tickets')).toBe(2);

    const record = await pruner({ tickets: 365 * DAY, summaries: 365 * DAY }).pass();
    expect(record?.counts).toMatchObject({ tickets: 1, ticket_messages: 1, attachments: 1, summaries: 1 });
    expect(await count('tickets')).toBe(1);
    expect(await count('ticket_messages')).toBe(1);
    expect(await count('attachments')).toBe(0);
    expect((await db.query<{ summary: string }>('SELECT summary FROM conversation_summaries')).map((r) => r.summary)).toEqual(['new']);
  });

  it('deletes old attachment files no kept ticket or event references, and leftovers of a crash', async () => {
    const dir = join(temp.dir, 'attachments');
    const sha = (c: string) => c.repeat(64);
    const file = (name: string, ageDays: number) => {
      mkdirSync(join(dir, name.slice(0, 2)), { recursive: true });
      const path = join(dir, name.slice(0, 2), name);
      writeFileSync(path, 'abc');
      const t = (NOW - ageDays * DAY) / 1000;
      utimesSync(path, t, t);
      return path;
    };
    const byTicket = file(sha('a'), 200);
    const byEvent = file(sha('b'), 200);
    const unreferenced = file(sha('c'), 200);
    const young = file(sha('d'), 10);
    const crashed = file(`${sha('e')}.1234abcd.tmp`, 200);
    const seq = await receive(store, { receivedAt: NOW - DAY, body: JSON.stringify({ attachments: [{ filename: 'b.pdf', sha256: sha('b'), saved: true }] }) });
    await commit(store, seq);
    await store.records.tickets.record(ticketInput(NOW - 300 * DAY, seq, sha('a')), NOW - 300 * DAY, () => ({ ticketId: undefined, threading: 'new' }));

    const record = await pruner().pass();
    expect(record?.counts.files).toBe(2);
    expect([byTicket, byEvent, unreferenced, young, crashed].map(existsSync)).toEqual([true, true, false, true, false]);

    // Once the event is gone (events retention), its file goes at the next pass.
    clock.set(NOW + 40 * DAY);
    const later = await pruner().pass();
    expect(later?.counts).toMatchObject({ events: 1, files: 1 });
    expect(existsSync(byEvent)).toBe(false);
    expect(existsSync(byTicket)).toBe(true);
  });

  it('reports rows and bytes per kind, sizes, the oldest event and the last prune', async () => {
    await finishedRun(store, NOW - 40 * DAY);
    const kept = await finishedRun(store, NOW - 3 * DAY);
    await finishedRun(store, NOW - 2 * DAY);
    mkdirSync(join(temp.dir, 'attachments', 'ab'), { recursive: true });
    writeFileSync(join(temp.dir, 'attachments', 'ab', 'ab'.repeat(32)), Buffer.alloc(1000));
    const before = await lifecycleStats(store, join(temp.dir, 'attachments'), NOW);
    expect(before.lastPrune).toBeNull();
    expect(before.kinds.events.rows).toBe(3);
    expect(before.kinds.runs.rows).toBe(3);
    expect(before.kinds.attempts.rows).toBe(3);
    expect(before.oldestEvent?.ageSeconds).toBe(40 * 86_400);

    await pruner().pass();
    const stats = await lifecycleStats(store, join(temp.dir, 'attachments'), NOW);
    expect(stats.backend).toBe(backend.name);
    expect(stats.kinds.events.rows).toBe(2);
    expect(stats.kinds.steps.rows).toBe(2);
    expect(stats.tables.events?.rows).toBe(2);
    expect(stats.kinds.events.bytes).toBeGreaterThan(0);
    expect(stats.database.bytes).toBeGreaterThan(0);
    expect(stats.attachments).toMatchObject({ files: 1, bytes: 1000 });
    expect(stats.oldestEvent).toEqual({ receivedAt: NOW - 3 * DAY, ageSeconds: 3 * 86_400 });
    expect(stats.lastPrune?.counts).toMatchObject({ events: 1, runs: 1, steps: 1, attempts: 1, files: 0 });
    expect(stats.lastPrune?.finishedAt).toBe(NOW);
    expect(kept.seq).toBeGreaterThan(0);
  });
});

describe.skipIf(!withPostgres)('data lifecycle on PostgreSQL: several instances', () => {
  it('two instances sharing one store prune each row once, one at a time', async () => {
    const temp = tempDir();
    const db = await postgres.fresh(temp.dir);
    const [a, b] = [await open(db), await open(db)];
    try {
      const n = 300;
      for (let i = 0; i < n; i++) await finishedRun(a, NOW - 40 * DAY + i);
      const clock = manualClock(NOW);
      const make = (s: Store) => new Pruner({ store: s, clock, logger, retention: () => retention(), attachmentsDir: () => join(temp.dir, 'none') });

      // While another holds the prune lock, a pass does nothing.
      const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s'))[0]!.s;
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey('prune', schema));
      expect(await make(a).pass()).toBeUndefined();
      expect(await a.lifecycle.pruneBatch({ events: NOW }, NOW, 100)).toBe('busy');
      await holder.query('ROLLBACK');
      await holder.end();
      expect(Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM events'))[0]!.n)).toBe(n);

      // Both prune at once, batch after batch: every row is deleted by exactly one of them.
      let deleted = 0;
      let busy = 0;
      const loop = async (s: Store) => {
        for (;;) {
          const batch = await s.lifecycle.pruneBatch({ events: NOW - 30 * DAY }, NOW, 50);
          if (batch === 'busy') {
            busy++;
            await new Promise((r) => setTimeout(r, 1));
            continue;
          }
          deleted += batch.counts.events;
          if (!batch.more) return;
        }
      };
      await Promise.all([loop(a), loop(b)]);
      expect(deleted).toBe(n);
      expect(Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM events'))[0]!.n)).toBe(0);
      expect(Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM runs'))[0]!.n)).toBe(0);
      expect(busy).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
      temp.cleanup();
    }
  });
});
