import type { PoolClient } from 'pg';
import { attachmentHashes } from '../../lifecycle/address.ts';
import type { ErasureCounts, ErasureRecord, ErasureRequest, ErasureResult, ErasureStore } from '../types.ts';
import { sqlState, transaction, type Db } from './db.ts';

class DryRun extends Error {
  readonly result: ErasureResult;
  constructor(result: ErasureResult) {
    super('dry run');
    this.result = result;
  }
}

/** `~*` with the pattern of lifecycle/address.ts; position() first, which is cheaper than the regex. */
const mentionsSql = (text: string) => `(position($1 in lower(${text})) > 0 AND ${text} ~* $2)`;
const messageText = `(from_address || ' ' || subject || ' ' || text || ' ' || coalesce(html, ''))`;
const eventText = `(body || ' ' || headers || ' ' || coalesce(dispatch_error, ''))`;

async function column<T>(client: PoolClient, sql: string, params: unknown[]): Promise<T[]> {
  const { rows } = await client.query(sql, params);
  return rows.map((r) => Object.values(r)[0] as T);
}

async function eraseIn(client: PoolClient, r: ErasureRequest): Promise<ErasureResult> {
  // A person's data is found by scanning: longer than the usual statement.
  await client.query('SET LOCAL statement_timeout = 0');
  const match = [r.address, r.pattern];
  const tickets = await column<number>(client, `
    SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE lower(c.email) = $1 AND $2::text IS NOT NULL
    UNION SELECT ticket_id FROM ticket_participants WHERE lower(address) = $1
    UNION SELECT ticket_id FROM ticket_messages WHERE ${mentionsSql(messageText)}`, match);
  const { rows: messageRows } = await client.query<{ id: number; event_seq: number }>(`SELECT id, event_seq FROM ticket_messages WHERE ticket_id = ANY($1)`, [tickets]);
  const messages = messageRows.map((m) => m.id);
  const hashes = new Set(await column<string>(client, `SELECT DISTINCT sha256 FROM attachments WHERE sha256 IS NOT NULL AND ticket_message_id = ANY($1)`, [messages]));

  const events = new Set(await column<number>(client, `SELECT seq FROM events WHERE ${mentionsSql(eventText)}`, match));
  // Events whose processing wrote the address down: a step's output, an attempt's request, response or error, a run's error.
  const attemptText = `(coalesce(request, '') || ' ' || coalesce(response, '') || ' ' || coalesce(error, ''))`;
  for (const seq of await column<number>(client, `
    SELECT DISTINCT event_seq FROM runs WHERE (error IS NOT NULL AND ${mentionsSql('error')})
      OR id IN (SELECT run_id FROM steps WHERE output IS NOT NULL AND ${mentionsSql('output')}
                UNION SELECT run_id FROM attempts WHERE ${mentionsSql(attemptText)})`, match)) events.add(seq);
  const conversations = [...r.conversations];
  const { rows: found } = await client.query<{ key: string; source: string }>(`
    SELECT DISTINCT t.conversation_id AS key, e.source FROM transcript_messages t JOIN events e ON e.seq = t.event_seq
    WHERE t.event_seq = ANY($3) OR ${mentionsSql('t.message')}`, [...match, [...events]]);
  for (const c of found) conversations.push({ source: c.source, key: c.key, id: c.key.startsWith('~') ? '' : c.key });
  for (const m of messageRows) events.add(m.event_seq);
  const keys = [...new Set(conversations.map((c) => c.key))];
  for (const seq of await column<number>(client, `SELECT DISTINCT event_seq FROM transcript_messages WHERE conversation_id = ANY($1)`, [keys])) events.add(seq);
  for (const c of conversations) {
    if (!c.id) continue;
    for (const seq of await column<number>(client, `SELECT seq FROM events WHERE source = $1 AND position($2 in body) > 0`, [c.source, JSON.stringify(c.id)])) events.add(seq);
  }
  const eventList = [...events];
  for (const body of await column<string>(client, `SELECT body FROM events WHERE seq = ANY($1)`, [eventList])) for (const sha of attachmentHashes(body)) hashes.add(sha);
  const runs = await column<string>(client, `SELECT id FROM runs WHERE event_seq = ANY($1)`, [eventList]);

  const run = async (sql: string, params: unknown[]) => (await client.query(sql, params)).rowCount ?? 0;
  const counts: ErasureCounts = {
    attempts: await run(`DELETE FROM attempts WHERE run_id = ANY($1)`, [runs]),
    steps: await run(`DELETE FROM steps WHERE run_id = ANY($1)`, [runs]),
    waits: await run(`DELETE FROM waits WHERE run_id = ANY($1)`, [runs]),
    runs: await run(`DELETE FROM runs WHERE id = ANY($1)`, [runs]),
    transcript_messages: await run(`DELETE FROM transcript_messages WHERE conversation_id = ANY($1) OR event_seq = ANY($2)`, [keys, eventList]),
    attachments: await run(`DELETE FROM attachments WHERE ticket_message_id = ANY($1)`, [messages]),
    ticket_messages: (await run(`DELETE FROM ticket_message_refs WHERE ticket_message_id = ANY($1)`, [messages]), await run(`DELETE FROM ticket_messages WHERE id = ANY($1)`, [messages])),
    ticket_participants: await run(`DELETE FROM ticket_participants WHERE ticket_id = ANY($1)`, [tickets]),
    tickets: await run(`DELETE FROM tickets WHERE id = ANY($1)`, [tickets]),
    customers: await run(`DELETE FROM customers c WHERE lower(c.email) = $1 AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.customer_id = c.id)`, [r.address]),
    events: await run(`DELETE FROM events WHERE seq = ANY($1)`, [eventList]),
    tables: {},
    files: 0,
  };
  const ids = [...new Set(conversations.map((c) => c.id).filter((id) => id !== ''))];
  const { rows: tables } = await client.query<{ name: string; has_conversation: boolean }>(`
    SELECT s.name, EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = s.name AND c.column_name = 'conversation_id') AS has_conversation
    FROM store_tables s WHERE to_regclass(quote_ident(current_schema()) || '.' || quote_ident(s.name)) IS NOT NULL`);
  for (const t of tables) {
    // Only names the store created (and checked, table-names.ts) are put into SQL. The row as text holds every column.
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(t.name)) continue;
    const byConversation = t.has_conversation ? ` OR x.conversation_id::text = ANY($3)` : '';
    const erased = await run(`DELETE FROM "${t.name}" x WHERE ${mentionsSql('x::text')}${byConversation}`, t.has_conversation ? [...match, ids] : match);
    if (erased > 0) counts.tables[t.name] = erased;
  }
  const files: string[] = [];
  for (const sha of hashes) {
    const { rows } = await client.query(`SELECT 1 FROM attachments WHERE sha256 = $1 UNION ALL SELECT 1 FROM events WHERE position($1 in body) > 0 LIMIT 1`, [sha]);
    if (rows.length === 0) files.push(sha);
  }
  counts.files = files.length;
  const result = { counts, files };
  if (r.dryRun) throw new DryRun(result);
  await client.query(`INSERT INTO erasures (id, requested_by, requested_at, counts) VALUES ($1, $2, $3, $4)`, [r.requestId, r.requestedBy, r.now, JSON.stringify(counts)]);
  return result;
}

export function postgresErasure(db: Db): ErasureStore {
  const { pool } = db;
  return {
    eventsMentioning: async (pattern, address) =>
      transaction(pool, async (client) => {
        await client.query('SET LOCAL statement_timeout = 0');
        return (await client.query(`SELECT seq, source, body FROM events WHERE ${mentionsSql(eventText)} ORDER BY seq`, [address, pattern])).rows;
      }),
    erase: async (request) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await transaction(pool, (client) => eraseIn(client, request));
        } catch (error) {
          if (error instanceof DryRun) return error.result;
          // Deleting runs that a worker is updating may deadlock with it: PostgreSQL aborts one side; do it again.
          if (attempt < 3 && ['40P01', '40001'].includes(sqlState(error) ?? '')) continue;
          throw error;
        }
      }
    },
    erasures: async (limit) =>
      (await pool.query<{ id: string; requested_by: string; requested_at: number; counts: string }>(
        `SELECT id, requested_by, requested_at, counts FROM erasures ORDER BY requested_at DESC, id DESC LIMIT $1`, [limit],
      )).rows.map((row): ErasureRecord => ({ id: row.id, requestedBy: row.requested_by, requestedAt: row.requested_at, counts: JSON.parse(row.counts) })),
  };
}
