// hookline export: shapes of each kind on both backends, --since/--until, keyset paging, CSV quoting.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { threadEmail } from '../../src/domain/ticket-threading.ts';
import { InputError } from '../../src/lifecycle/errors.ts';
import { exportToFile, parseKind, parseTime, writeExport, type ExportOptions } from '../../src/lifecycle/export.ts';
import type { Store } from '../../src/store/types.ts';
import { describeBackends } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { commit, receive, run, T0, uid } from '../store/fixtures.ts';
import { openFresh } from './open.ts';

const HOUR = 3_600_000;

async function collect(store: Store, options: ExportOptions): Promise<{ text: string; rows: number }> {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const rows = await writeExport(store, { pageSize: 2, ...options }, out);
  return { text: chunks.join(''), rows };
}

const lines = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

it('parses kinds and times, and says what it expected', () => {
  expect(parseKind('events')).toBe('events');
  expect(parseKind('summaries')).toEqual({ table: 'conversation_summaries' });
  expect(parseKind('table:signups')).toEqual({ table: 'signups' });
  for (const bad of ['event', 'table:', 'table:Bad-Name', 'table:x;drop']) expect(() => parseKind(bad)).toThrow(InputError);
  expect(parseTime('2026-11-01', 0)).toBe(Date.parse('2026-11-01T00:00:00Z'));
  expect(parseTime('2026-11-01T12:00:00Z', 0)).toBe(Date.parse('2026-11-01T12:00:00Z'));
  expect(parseTime('7d', 10 * 86_400_000)).toBe(3 * 86_400_000);
  for (const bad of ['yesterday', '2026-13', '7 weeks']) expect(() => parseTime(bad, 0)).toThrow(InputError);
});

describeBackends('hookline export', (backend) => {
  let dir: string;
  let cleanupDir: () => void;
  let store: Store;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup: cleanupDir } = tempDir('hookline-export-'));
    ({ store, close } = await openFresh(backend, dir));
  });
  afterEach(async () => {
    await close();
    cleanupDir();
  });

  async function seed() {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const eventId = uid();
      ids.push(eventId);
      const seq = await receive(store, { eventId, type: 'message.created', receivedAt: T0 + i * HOUR, body: JSON.stringify({ id: eventId, data: { n: i } }), test: i === 4 });
      await commit(store, seq, { now: T0 + i * HOUR, runs: [run(`r${String(T0 + i * HOUR)}${i}`)] });
    }
    return ids;
  }

  it('exports events as JSON Lines, bodies nested, times in ISO 8601, in seq order across pages; --since/--until bound them', async () => {
    const ids = await seed();
    const all = await collect(store, { kind: 'events', format: 'jsonl' });
    expect(all.rows).toBe(5);
    const rows = lines(all.text);
    expect(rows.map((r) => r.event_id)).toEqual(ids);
    expect(Object.keys(rows[0]!)).toEqual(['seq', 'source', 'event_id', 'type', 'received_at', 'test', 'status', 'body']);
    expect(rows[0]).toMatchObject({ source: 'muro', type: 'message.created', received_at: new Date(T0).toISOString(), test: false, status: 'dispatched', body: { id: ids[0], data: { n: 0 } } });
    expect(rows[4]!.test).toBe(true);

    const window = await collect(store, { kind: 'events', format: 'jsonl', since: T0 + HOUR, until: T0 + 3 * HOUR });
    expect(lines(window.text).map((r) => r.event_id)).toEqual(ids.slice(1, 3));
    expect((await collect(store, { kind: 'events', format: 'jsonl', since: T0 + 10 * HOUR })).text).toBe('');
  });

  it('exports runs with their event, and tickets with their customer', async () => {
    const ids = await seed();
    const runs = lines((await collect(store, { kind: 'runs', format: 'jsonl', since: T0 + 3 * HOUR })).text);
    expect(runs.map((r) => r.event_id)).toEqual(ids.slice(3));
    expect(Object.keys(runs[0]!)).toEqual(['id', 'event_seq', 'event_id', 'source', 'recipe', 'status', 'attempt', 'error', 'created_at', 'updated_at']);
    expect(runs[0]).toMatchObject({ recipe: 'notify', status: 'queued', attempt: 0, error: null, created_at: new Date(T0 + 3 * HOUR).toISOString() });

    const input = { idempotencyKey: uid(), eventSeq: 1, receivedAt: T0, from: 'jo@client.example', fromName: 'Jo, "the" boss', recipients: [], subject: 'Invoice', text: 'x', html: null, messageId: null, replyTo: [], attachments: [] };
    await store.records.tickets.record(input, T0, threadEmail);
    const tickets = lines((await collect(store, { kind: 'tickets', format: 'jsonl' })).text);
    expect(tickets).toEqual([{ id: expect.any(Number), customer_email: 'jo@client.example', customer_name: 'Jo, "the" boss', subject: 'Invoice', status: 'open', message_count: 1, created_at: new Date(T0).toISOString(), updated_at: new Date(T0).toISOString() }]);
    const csv = (await collect(store, { kind: 'tickets', format: 'csv' })).text;
    expect(csv).toBe(`id,customer_email,customer_name,subject,status,message_count,created_at,updated_at\n${tickets[0]!.id},jo@client.example,"Jo, ""the"" boss",Invoice,open,1,${new Date(T0).toISOString()},${new Date(T0).toISOString()}\n`);
  });

  it('exports store tables (summaries among them) in CSV with commas, quotes and newlines quoted', async () => {
    const row = { conversation_id: 'conv_1', summary: 'Refund, then "thanks"\nsecond line', total_tokens: 48, resolved: true, visitor_email: null };
    await store.records.tables.insert({ table: 'conversation_summaries', row, idempotencyKey: uid(), now: T0 });
    await store.records.tables.insert({ table: 'conversation_summaries', row: { conversation_id: 'conv_2', summary: 'plain', total_tokens: 5, resolved: false, visitor_email: 'a@b.example' }, idempotencyKey: uid(), now: T0 + HOUR });
    const csv = (await collect(store, { kind: parseKind('summaries'), format: 'csv' })).text;
    const t0 = new Date(T0).toISOString();
    const t1 = new Date(T0 + HOUR).toISOString();
    const resolved = backend.name === 'sqlite' ? ['1', '0'] : ['true', 'false']; // SQLite has no boolean: the store keeps 1/0
    expect(csv).toBe(
      'row_id,stored_at,conversation_id,summary,total_tokens,resolved,visitor_email\n' +
        `1,${t0},conv_1,"Refund, then ""thanks""\nsecond line",48,${resolved[0]},\n` +
        `2,${t1},conv_2,plain,5,${resolved[1]},a@b.example\n`,
    );
    const jsonl = lines((await collect(store, { kind: { table: 'conversation_summaries' }, format: 'jsonl', until: T0 + 1 })).text);
    expect(jsonl).toEqual([{ row_id: 1, stored_at: t0, conversation_id: 'conv_1', summary: row.summary, total_tokens: 48, resolved: backend.name === 'sqlite' ? 1 : true, visitor_email: null }]);
    await expect(collect(store, { kind: { table: 'nope' }, format: 'csv' })).rejects.toThrow(/no table "nope".*conversation_summaries/);
  });

  it('writes a file only when the export is complete, and never over an existing file', async () => {
    await seed();
    const file = join(dir, 'events.jsonl');
    expect(await exportToFile(store, { kind: 'events', format: 'jsonl' }, file)).toBe(5);
    expect(lines(readFileSync(file, 'utf8'))).toHaveLength(5);
    const existing = join(dir, 'existing.csv');
    writeFileSync(existing, 'keep me');
    await expect(exportToFile(store, { kind: 'events', format: 'csv' }, existing)).rejects.toThrow();
    expect(readFileSync(existing, 'utf8')).toBe('keep me');
    await expect(exportToFile(store, { kind: { table: 'nope' }, format: 'csv' }, join(dir, 'nope.csv'))).rejects.toThrow(InputError);
    expect(existsSync(join(dir, 'nope.csv'))).toBe(false);
  });
});
