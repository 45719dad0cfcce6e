import type Database from 'better-sqlite3';
import { attachmentHashes, mentions } from '../../lifecycle/address.ts';
import type { ErasureCounts, ErasureRecord, ErasureRequest, ErasureResult, ErasureStore } from '../types.ts';
import type { Writer } from './writer.ts';

/** Thrown inside the transaction of a dry run to roll it back, carrying what it would have erased. */
class DryRun {
  readonly result: ErasureResult;
  constructor(result: ErasureResult) {
    this.result = result;
  }
}

/** The parameters of mentionsSql. */
const matchParams = (address: string, pattern: string) => ({
  address,
  pattern,
  like: /^[\x20-\x7e]*$/.test(address) ? `%${address.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
});

const list = (values: Iterable<unknown>) => JSON.stringify([...new Set(values)]);
const inList = (column: string, param: string) => `${column} IN (SELECT value FROM json_each(@${param}))`;

export function sqliteErasure(db: Database.Database, writer: Writer): ErasureStore {
  // The same test as in JavaScript: the address, not inside a longer one (lifecycle/address.ts).
  db.function('hookline_mentions', { deterministic: true }, (text: unknown, pattern: unknown) =>
    typeof text === 'string' && typeof pattern === 'string' && mentions(text, pattern) ? 1 : 0,
  );
  // LIKE first: in C, case-insensitive for ASCII, no copy of the text (instr(lower(x)) copies every
  // row); @like is '%address%' for an ASCII address. A non-ASCII one compares lower-cased copies.
  const mentionsSql = (text: string) =>
    `((CASE WHEN @like IS NULL THEN instr(lower(${text}), @address) > 0 ELSE ${text} LIKE @like ESCAPE '\\' END) AND hookline_mentions(${text}, @pattern))`;
  const messageText = `(from_address || ' ' || subject || ' ' || text || ' ' || coalesce(html, ''))`;

  const eventsMentioning = db.prepare(`
    SELECT seq, source, body FROM events WHERE ${mentionsSql('body')} OR ${mentionsSql('headers')} OR (dispatch_error IS NOT NULL AND ${mentionsSql('dispatch_error')})
    ORDER BY seq`);
  // Events whose processing wrote the address down: a step's output, an attempt's request, response or error, a run's error.
  const eventsOfRunsMentioning = db.prepare(`
    SELECT DISTINCT event_seq FROM runs WHERE (error IS NOT NULL AND ${mentionsSql('error')})
      OR id IN (SELECT run_id FROM steps WHERE output IS NOT NULL AND ${mentionsSql('output')}
                UNION SELECT run_id FROM attempts WHERE ${mentionsSql('request')} OR ${mentionsSql('response')} OR ${mentionsSql('error')})`).pluck();
  const ticketsOf = db.prepare(`
    SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE lower(c.email) = @address
    UNION SELECT ticket_id FROM ticket_participants WHERE lower(address) = @address
    UNION SELECT ticket_id FROM ticket_messages WHERE ${mentionsSql(messageText)}`).pluck();
  const messagesOf = db.prepare(`SELECT id, event_seq FROM ticket_messages WHERE ${inList('ticket_id', 'tickets')}`);
  const hashesOf = db.prepare(`SELECT DISTINCT sha256 FROM attachments WHERE sha256 IS NOT NULL AND ${inList('ticket_message_id', 'messages')}`).pluck();
  // Conversations of the events, and those whose messages mention the address; with the source of their events.
  const conversationsOf = db.prepare(`
    SELECT DISTINCT t.conversation_id AS key, e.source FROM transcript_messages t JOIN events e ON e.seq = t.event_seq
    WHERE ${inList('t.event_seq', 'events')} OR ${mentionsSql('t.message')}`);
  const transcriptEvents = db.prepare(`SELECT DISTINCT event_seq FROM transcript_messages WHERE ${inList('conversation_id', 'keys')}`).pluck();
  // Events of the conversations that carry no message (opened, closed): the id as a JSON string in
  // the body. One pass over the events for up to 200 conversations at a time.
  const eventsNaming = (conversations: Array<{ source: string; id: string }>): number[] => {
    const found: number[] = [];
    for (let i = 0; i < conversations.length; i += 200) {
      const batch = conversations.slice(i, i + 200);
      const where = batch.map(() => '(source = ? AND instr(body, ?) > 0)').join(' OR ');
      found.push(...(db.prepare(`SELECT seq FROM events WHERE ${where}`).pluck().all(...batch.flatMap((c) => [c.source, JSON.stringify(c.id)])) as number[]));
    }
    return found;
  };
  const bodies = db.prepare(`SELECT body FROM events WHERE ${inList('seq', 'events')}`).pluck();
  const runsOf = db.prepare(`SELECT id FROM runs WHERE ${inList('event_seq', 'events')}`).pluck();
  const storeTables = db.prepare(`SELECT s.name, s.columns FROM store_tables s JOIN sqlite_master m ON m.name = s.name AND m.type = 'table'`);
  const inAttachments = db.prepare(`SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?)`).pluck();
  // One pass over the events that describe saved attachments, whatever the number of files.
  const describedFiles = db.prepare(`SELECT body FROM events WHERE body LIKE '%"sha256":"%'`).pluck();
  const unused = (hashes: Set<string>): string[] => {
    const left = new Set([...hashes].filter((sha) => !inAttachments.get(sha)));
    if (left.size === 0) return [];
    for (const body of describedFiles.iterate() as Iterable<string>) {
      for (const sha of attachmentHashes(body)) left.delete(sha);
      if (left.size === 0) break;
    }
    return [...left];
  };
  const audit = db.prepare(`INSERT INTO erasures (id, requested_by, requested_at, counts) VALUES (?, ?, ?, ?)`);
  const deletes = {
    attempts: db.prepare(`DELETE FROM attempts WHERE ${inList('run_id', 'runs')}`),
    steps: db.prepare(`DELETE FROM steps WHERE ${inList('run_id', 'runs')}`),
    waits: db.prepare(`DELETE FROM waits WHERE ${inList('run_id', 'runs')}`),
    runs: db.prepare(`DELETE FROM runs WHERE ${inList('id', 'runs')}`),
    transcript_messages: db.prepare(`DELETE FROM transcript_messages WHERE ${inList('conversation_id', 'keys')} OR ${inList('event_seq', 'events')}`),
    attachments: db.prepare(`DELETE FROM attachments WHERE ${inList('ticket_message_id', 'messages')}`),
    refs: db.prepare(`DELETE FROM ticket_message_refs WHERE ${inList('ticket_message_id', 'messages')}`),
    ticket_messages: db.prepare(`DELETE FROM ticket_messages WHERE ${inList('id', 'messages')}`),
    ticket_participants: db.prepare(`DELETE FROM ticket_participants WHERE ${inList('ticket_id', 'tickets')}`),
    tickets: db.prepare(`DELETE FROM tickets WHERE ${inList('id', 'tickets')}`),
    customers: db.prepare(`DELETE FROM customers WHERE lower(email) = @address AND id NOT IN (SELECT customer_id FROM tickets)`),
    events: db.prepare(`DELETE FROM events WHERE ${inList('seq', 'events')}`),
  };

  const erase = db.transaction((r: ErasureRequest): ErasureResult => {
    const match = matchParams(r.address, r.pattern);
    const tickets = ticketsOf.all(match) as number[];
    const messageRows = messagesOf.all({ tickets: list(tickets) }) as Array<{ id: number; event_seq: number }>;
    const messages = list(messageRows.map((m) => m.id));
    const hashes = new Set(hashesOf.all({ messages }) as string[]);

    const events = new Set<number>((eventsMentioning.all(match) as Array<{ seq: number }>).map((e) => e.seq));
    for (const seq of eventsOfRunsMentioning.all(match) as number[]) events.add(seq);
    const conversations = [...r.conversations];
    for (const c of conversationsOf.all({ ...match, events: list(events) }) as Array<{ key: string; source: string }>) {
      // A key is the id itself unless the id was long or odd (index-key.ts); only the id is in bodies.
      conversations.push({ source: c.source, key: c.key, id: c.key.startsWith('~') ? '' : c.key });
    }
    for (const m of messageRows) events.add(m.event_seq);
    const keys = list(conversations.map((c) => c.key));
    for (const seq of transcriptEvents.all({ keys }) as number[]) events.add(seq);
    for (const seq of eventsNaming(conversations.filter((c) => c.id !== ''))) events.add(seq);
    const eventList = list(events);
    for (const body of bodies.all({ events: eventList }) as string[]) for (const sha of attachmentHashes(body)) hashes.add(sha);
    const runs = list(runsOf.all({ events: eventList }) as string[]);

    const counts: ErasureCounts = {
      attempts: deletes.attempts.run({ runs }).changes,
      steps: deletes.steps.run({ runs }).changes,
      waits: deletes.waits.run({ runs }).changes,
      runs: deletes.runs.run({ runs }).changes,
      transcript_messages: deletes.transcript_messages.run({ keys, events: eventList }).changes,
      attachments: deletes.attachments.run({ messages }).changes,
      ticket_messages: (deletes.refs.run({ messages }), deletes.ticket_messages.run({ messages }).changes),
      ticket_participants: deletes.ticket_participants.run({ tickets: list(tickets) }).changes,
      tickets: deletes.tickets.run({ tickets: list(tickets) }).changes,
      customers: deletes.customers.run({ address: r.address }).changes,
      events: deletes.events.run({ events: eventList }).changes,
      tables: {},
      files: 0,
    };
    const ids = list(conversations.map((c) => c.id).filter((id) => id !== ''));
    for (const t of storeTables.all() as Array<{ name: string; columns: string }>) {
      // Names and columns were checked when the `store` action created them (table-names.ts).
      const columns = (JSON.parse(t.columns) as string[]).filter((c) => /^[a-z][a-z0-9_]{0,62}$/.test(c));
      if (columns.length === 0) continue;
      const text = columns.map((c) => `coalesce(CAST("${c}" AS TEXT), '')`).join(` || ' ' || `);
      const byConversation = columns.includes('conversation_id') ? ` OR ${inList('CAST("conversation_id" AS TEXT)', 'ids')}` : '';
      const erased = db.prepare(`DELETE FROM "${t.name}" WHERE ${mentionsSql(`(${text})`)}${byConversation}`).run({ ...match, ...(byConversation ? { ids } : {}) }).changes;
      if (erased > 0) counts.tables[t.name] = erased;
    }
    const files = unused(hashes);
    counts.files = files.length;
    const result = { counts, files };
    if (r.dryRun) throw new DryRun(result);
    audit.run(r.requestId, r.requestedBy, r.now, JSON.stringify(counts));
    return result;
  });

  const recent = db.prepare(`SELECT id, requested_by, requested_at, counts FROM erasures ORDER BY requested_at DESC, id DESC LIMIT ?`);
  return {
    eventsMentioning: async (pattern, address) => eventsMentioning.all(matchParams(address, pattern)) as Array<{ seq: number; source: string; body: string }>,
    erase: async (request) => {
      try {
        return await writer.write(() => erase(request));
      } catch (error) {
        if (error instanceof DryRun) return error.result;
        throw error;
      }
    },
    erasures: async (limit) =>
      (recent.all(limit) as Array<{ id: string; requested_by: string; requested_at: number; counts: string }>).map(
        (row): ErasureRecord => ({ id: row.id, requestedBy: row.requested_by, requestedAt: row.requested_at, counts: JSON.parse(row.counts) }),
      ),
  };
}
