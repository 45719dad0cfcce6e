import type { PoolClient } from 'pg';
import { ticketSummarySql, toTicketAttachment, toTicketMessage, toTicketSummary, type TicketSummaryRow } from '../rows.ts';
import { candidateIds, participantsOf, toCandidates, type CandidateRows } from '../ticket-candidates.ts';
import type { ReadModel, ThreadingRule, TicketDetail, TicketMessageInput, TicketRecords, TicketResult } from '../types.ts';
import { clean, lockKey, transaction, type Db } from './db.ts';

const one = async <T>(client: PoolClient, sql: string, params: unknown[]): Promise<T | undefined> => (await client.query(sql, params)).rows[0] as T | undefined;
const all = async <T>(client: PoolClient, sql: string, params: unknown[]): Promise<T[]> => (await client.query(sql, params)).rows as T[];

/** The tickets an email points at (see TicketRecords.record), each with its participants. */
async function candidates(client: PoolClient, input: TicketMessageInput) {
  const rows: CandidateRows = {
    numbered: input.ticketNumber === undefined ? undefined : (await one<{ id: string }>(client, `SELECT id FROM tickets WHERE id = $1`, [input.ticketNumber]))?.id as number | undefined,
    repliedTo: await all(
      client,
      `SELECT r.ref, m.ticket_id FROM unnest($1::text[]) WITH ORDINALITY r(ref, n) JOIN ticket_messages m ON m.message_id = r.ref
       GROUP BY r.n, r.ref, m.ticket_id ORDER BY r.n, min(m.id)`,
      [input.replyTo.map((r) => clean(r))],
    ),
    replyingTo: input.messageId
      ? await all(
          client,
          `SELECT m.ticket_id FROM ticket_message_refs r JOIN ticket_messages m ON m.id = r.ticket_message_id WHERE r.ref = $1 GROUP BY m.ticket_id ORDER BY min(m.id)`,
          [clean(input.messageId)],
        )
      : [],
  };
  if (rows.numbered !== undefined) rows.numbered = Number(rows.numbered);
  const ids = candidateIds(rows);
  const known = await all<{ ticket_id: string; address: string }>(
    client,
    `SELECT t.id AS ticket_id, c.email AS address FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ANY($1::bigint[])
     UNION SELECT ticket_id, address FROM ticket_participants WHERE ticket_id = ANY($1::bigint[])`,
    [ids],
  );
  return toCandidates(input, rows, known);
}

async function record(client: PoolClient, input: TicketMessageInput, now: number, thread: ThreadingRule): Promise<TicketResult> {
  // Ticket threading reads then writes across several rows: one recorder at a time, across instances.
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey('tickets', 'record'));
  const seen = await one<{ id: number; ticket_id: number; customer_id: number; threading: string | null }>(
    client,
    `SELECT m.id, m.ticket_id, t.customer_id, m.threading FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.idempotency_key = $1`,
    [input.idempotencyKey],
  );
  if (seen) {
    return { ticketId: Number(seen.ticket_id), customerId: Number(seen.customer_id), messageId: Number(seen.id), created: false, duplicate: true, threading: seen.threading ?? '' };
  }
  const customer = await one<{ id: number }>(
    client,
    `INSERT INTO customers (email, name, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (email) DO UPDATE SET name = coalesce(customers.name, EXCLUDED.name) RETURNING id`,
    [clean(input.from.trim().toLowerCase()), clean(input.fromName ?? null), now],
  );
  const customerId = Number(customer!.id);
  const decision = thread(input.from.trim().toLowerCase(), await candidates(client, input));
  const created = decision.ticketId === undefined;
  const ticketId = Number(
    decision.ticketId ??
      (await one<{ id: number }>(client, `INSERT INTO tickets (customer_id, subject, first_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`, [customerId, clean(input.subject), input.eventSeq, now]))!.id,
  );
  const message = await one<{ id: number }>(
    client,
    `INSERT INTO ticket_messages (ticket_id, idempotency_key, event_seq, received_at, from_address, subject, text, html, message_id, reply_to, threading)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [ticketId, input.idempotencyKey, input.eventSeq, input.receivedAt, clean(input.from), clean(input.subject), clean(input.text), clean(input.html ?? null), clean(input.messageId ?? null), clean(input.replyTo.join(' ')), clean(decision.threading)],
  );
  const messageId = Number(message!.id);
  const refs = [...new Set(input.replyTo)];
  if (refs.length > 0) await client.query(`INSERT INTO ticket_message_refs (ticket_message_id, ref) SELECT $1, unnest($2::text[])`, [messageId, refs.map((r) => clean(r))]);
  for (const a of input.attachments) {
    await client.query(
      `INSERT INTO attachments (ticket_message_id, filename, content_type, size, sha256, saved, reason, content_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [messageId, clean(a.filename), clean(a.contentType), a.size, a.sha256, a.saved, clean(a.reason ?? null), clean(a.contentId ?? null)],
    );
  }
  await client.query(`INSERT INTO ticket_participants (ticket_id, address) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, [ticketId, participantsOf(input).map((a) => clean(a))]);
  // The earliest message (by receive order) names the ticket, whichever was recorded first.
  await client.query(
    `UPDATE tickets SET message_count = message_count + 1, updated_at = greatest(updated_at, $2),
       subject = CASE WHEN $3 < first_seq THEN $4 ELSE subject END, first_seq = least(first_seq, $3) WHERE id = $1`,
    [ticketId, now, input.eventSeq, clean(input.subject)],
  );
  return { ticketId, customerId, messageId, created, duplicate: false, threading: decision.threading };
}

export function postgresTickets(db: Db): TicketRecords & Pick<ReadModel, 'tickets' | 'ticket'> {
  return {
    record: (input, now, thread) => transaction(db.pool, (client) => record(client, input, now, thread)),
    tickets: async (f) =>
      (
        await db.pool.query<TicketSummaryRow>(
          `${ticketSummarySql} WHERE ($1::text IS NULL OR t.status = $1)
             AND ($2::text IS NULL OR strpos(lower(t.subject), lower($2)) > 0 OR strpos(c.email, lower($2)) > 0)
           ORDER BY t.updated_at DESC, t.id DESC LIMIT $3`,
          [f.status ?? null, f.search ?? null, f.limit ?? 50],
        )
      ).rows.map(toTicketSummary),
    ticket: async (id): Promise<TicketDetail | undefined> => {
      const row = (await db.pool.query<TicketSummaryRow>(`${ticketSummarySql} WHERE t.id = $1`, [id])).rows[0];
      if (!row) return undefined;
      const messages = (await db.pool.query(`SELECT * FROM ticket_messages WHERE ticket_id = $1 ORDER BY event_seq, id`, [id])).rows as Array<Record<string, unknown>>;
      const attachments = (
        await db.pool.query(`SELECT * FROM attachments WHERE ticket_message_id = ANY($1::bigint[]) ORDER BY id`, [messages.map((m) => m.id)])
      ).rows as Array<Record<string, unknown>>;
      const participants = (
        await db.pool.query<{ address: string }>(
          `SELECT c.email AS address FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = $1
           UNION SELECT address FROM ticket_participants WHERE ticket_id = $1`,
          [id],
        )
      ).rows
        .map((r) => r.address)
        .sort(); // code point order, as SQLite's
      return {
        ...toTicketSummary(row),
        participants,
        messages: messages.map((m) =>
          toTicketMessage(m, attachments.filter((a) => Number(a.ticket_message_id) === Number(m.id)).map(toTicketAttachment)),
        ),
      };
    },
  };
}
