import type { TicketCandidate, TicketMessageInput } from './types.ts';

/**
 * What both backends share to gather the tickets an email points at (the threading rule itself is
 * the domain's: src/domain/ticket-threading.ts). Each backend runs the same three lookups and one
 * query for participants in its own SQL, and builds the candidates here, so that both hand the rule
 * the same list.
 */

export interface CandidateRows {
  /** The ticket the subject's number names, when it exists. */
  numbered: number | undefined;
  repliedTo: Array<{ ref: string; ticket_id: number | string }>;
  replyingTo: Array<{ ticket_id: number | string }>;
}

/** The ticket ids of every candidate, to look their participants up. */
export function candidateIds(rows: CandidateRows): number[] {
  return [...new Set([...(rows.numbered === undefined ? [] : [rows.numbered]), ...rows.repliedTo.map((r) => Number(r.ticket_id)), ...rows.replyingTo.map((r) => Number(r.ticket_id))])];
}

export function toCandidates(input: TicketMessageInput, rows: CandidateRows, participants: Array<{ ticket_id: number | string; address: string }>): TicketCandidate[] {
  const of = (ticketId: number) => [...new Set(participants.filter((p) => Number(p.ticket_id) === ticketId).map((p) => p.address))].sort();
  const candidate = (ticketId: number, via: TicketCandidate['via'], ref: string): TicketCandidate => ({ ticketId, via, ref, participants: of(ticketId) });
  return [
    ...(rows.numbered === undefined ? [] : [candidate(rows.numbered, 'subject', `[#T-${rows.numbered}]`)]),
    ...rows.repliedTo.map((r) => candidate(Number(r.ticket_id), 'reply', r.ref)),
    ...rows.replyingTo.map((r) => candidate(Number(r.ticket_id), 'replied-by', input.messageId!)),
  ];
}

/** Who takes part in the ticket a message lands on: its sender and recipients, lower-cased. */
export function participantsOf(input: TicketMessageInput): string[] {
  return [...new Set([input.from, ...input.recipients].map((a) => a.trim().toLowerCase()).filter((a) => a !== ''))];
}
