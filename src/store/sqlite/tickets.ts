import type Database from 'better-sqlite3';
import { ticketSummarySql, toTicketAttachment, toTicketMessage, toTicketSummary, type TicketSummaryRow } from '../rows.ts';
import { candidateIds, participantsOf, toCandidates, type CandidateRows } from '../ticket-candidates.ts';
import type { ReadModel, ThreadingRule, TicketDetail, TicketMessageInput, TicketRecords, TicketResult } from '../types.ts';

export function sqliteTickets(db: Database.Database): TicketRecords & Pick<ReadModel, 'tickets' | 'ticket'> {
  const byKey = db.prepare(`SELECT id, ticket_id, threading FROM ticket_messages WHERE idempotency_key = ?`);
  const customerOf = db.prepare(`SELECT customer_id FROM tickets WHERE id = ?`).pluck();
  const upsertCustomer = db.prepare(`
    INSERT INTO customers (email, name, created_at) VALUES (?, ?, ?)
    ON CONFLICT (email) DO UPDATE SET name = coalesce(customers.name, excluded.name)
    RETURNING id`).pluck();
  const ticketExists = db.prepare(`SELECT id FROM tickets WHERE id = ?`).pluck();
  // The tickets of stored messages with each Message-ID the email replies to: in its order, then the messages'.
  const repliedTo = db.prepare(`
    SELECT r.value AS ref, m.ticket_id FROM json_each(?) r JOIN ticket_messages m ON m.message_id = r.value
    GROUP BY r.key, m.ticket_id ORDER BY r.key, min(m.id)`);
  // The tickets of stored messages that already reply to this email.
  const replyingTo = db.prepare(`
    SELECT m.ticket_id FROM ticket_message_refs r JOIN ticket_messages m ON m.id = r.ticket_message_id
    WHERE r.ref = ? GROUP BY m.ticket_id ORDER BY min(m.id)`);
  const participants = db.prepare(`
    SELECT t.id AS ticket_id, c.email AS address FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id IN (SELECT value FROM json_each(:ids))
    UNION SELECT ticket_id, address FROM ticket_participants WHERE ticket_id IN (SELECT value FROM json_each(:ids))`);
  const addParticipant = db.prepare(`INSERT INTO ticket_participants (ticket_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING`);
  const openTicket = db.prepare(`
    INSERT INTO tickets (customer_id, subject, first_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`).pluck();
  const insertMessage = db.prepare(`
    INSERT INTO ticket_messages (ticket_id, idempotency_key, event_seq, received_at, from_address, subject, text, html, message_id, reply_to, threading)
    VALUES (@ticketId, @idempotencyKey, @eventSeq, @receivedAt, @from, @subject, @text, @html, @messageId, @replyTo, @threading) RETURNING id`).pluck();
  const insertRef = db.prepare(`INSERT INTO ticket_message_refs (ticket_message_id, ref) VALUES (?, ?)`);
  const insertAttachment = db.prepare(`
    INSERT INTO attachments (ticket_message_id, filename, content_type, size, sha256, saved, reason, content_id)
    VALUES (@messageId, @filename, @contentType, @size, @sha256, @saved, @reason, @contentId)`);
  // The earliest message (by receive order) names the ticket, whichever was recorded first.
  const touchTicket = db.prepare(`
    UPDATE tickets SET message_count = message_count + 1, updated_at = max(updated_at, @now),
      subject = CASE WHEN @seq < first_seq THEN @subject ELSE subject END, first_seq = min(first_seq, @seq)
    WHERE id = @id`);
  const get = db.prepare(`${ticketSummarySql} WHERE t.id = ?`);
  const messages = db.prepare(`SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY event_seq, id`);
  const attachmentsOf = db.prepare(`SELECT * FROM attachments WHERE ticket_message_id = ? ORDER BY id`);
  const participantsOfTicket = db.prepare(`
    SELECT c.email FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = :id
    UNION SELECT address FROM ticket_participants WHERE ticket_id = :id`).pluck();
  const list = db.prepare(`${ticketSummarySql}
    WHERE (:status IS NULL OR t.status = :status)
      AND (:search IS NULL OR instr(lower(t.subject), lower(:search)) > 0 OR instr(c.email, lower(:search)) > 0)
    ORDER BY t.updated_at DESC, t.id DESC LIMIT :limit`);

  const record = db.transaction((input: TicketMessageInput, now: number, thread: ThreadingRule): TicketResult => {
    const seen = byKey.get(input.idempotencyKey) as { id: number; ticket_id: number; threading: string | null } | undefined;
    if (seen) {
      return { ticketId: seen.ticket_id, customerId: customerOf.get(seen.ticket_id) as number, messageId: seen.id, created: false, duplicate: true, threading: seen.threading ?? '' };
    }
    const customerId = upsertCustomer.get(input.from.trim().toLowerCase(), input.fromName ?? null, now) as number;
    const rows: CandidateRows = {
      numbered: input.ticketNumber !== undefined ? (ticketExists.get(input.ticketNumber) as number | undefined) : undefined,
      repliedTo: repliedTo.all(JSON.stringify(input.replyTo)) as CandidateRows['repliedTo'],
      replyingTo: input.messageId ? (replyingTo.all(input.messageId) as CandidateRows['replyingTo']) : [],
    };
    const known = participants.all({ ids: JSON.stringify(candidateIds(rows)) }) as Array<{ ticket_id: number; address: string }>;
    const decision = thread(input.from.trim().toLowerCase(), toCandidates(input, rows, known));
    const created = decision.ticketId === undefined;
    const ticketId = decision.ticketId ?? (openTicket.get(customerId, input.subject, input.eventSeq, now, now) as number);
    const messageId = insertMessage.get({
      ...input,
      ticketId,
      html: input.html ?? null,
      messageId: input.messageId ?? null,
      replyTo: input.replyTo.join(' '),
      threading: decision.threading,
    }) as number;
    for (const ref of new Set(input.replyTo)) insertRef.run(messageId, ref);
    for (const a of input.attachments) {
      insertAttachment.run({ ...a, messageId, saved: a.saved ? 1 : 0, reason: a.reason ?? null, contentId: a.contentId ?? null });
    }
    for (const address of participantsOf(input)) addParticipant.run(ticketId, address);
    touchTicket.run({ id: ticketId, now, seq: input.eventSeq, subject: input.subject });
    return { ticketId, customerId, messageId, created, duplicate: false, threading: decision.threading };
  });

  return {
    record: async (input, now, thread) => record.immediate(input, now, thread),
    tickets: async (f) => (list.all({ status: f.status ?? null, search: f.search ?? null, limit: f.limit ?? 50 }) as TicketSummaryRow[]).map(toTicketSummary),
    ticket: async (id): Promise<TicketDetail | undefined> => {
      const row = get.get(id) as TicketSummaryRow | undefined;
      if (!row) return undefined;
      return {
        ...toTicketSummary(row),
        participants: (participantsOfTicket.all({ id }) as string[]).sort(),
        messages: (messages.all(id) as Array<Record<string, unknown>>).map((m) =>
          toTicketMessage(m, (attachmentsOf.all(m.id) as Array<Record<string, unknown>>).map(toTicketAttachment)),
        ),
      };
    },
  };
}
