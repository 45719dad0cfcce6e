import type { TicketCandidate, ThreadingRule } from '../store/types.ts';

/**
 * Who may add to a ticket by replying. A ticket number in a subject, or an In-Reply-To/References
 * to one of its messages, is easy to write into any email; so an email joins the ticket it points
 * at only when its sender takes part in that ticket: the ticket's customer, or an address in the
 * From, To or Cc of a message already on it (hookline's own receiving addresses excepted, see
 * `emailOf`). Otherwise it opens a new ticket, and the reason is recorded with the message.
 *
 * The stores gather the candidates and apply the decision in one transaction; the rule is here once.
 */
export const threadEmail: ThreadingRule = (sender, candidates) => {
  const who = sender.trim().toLowerCase();
  const refused: string[] = [];
  const judged = new Set<number>();
  for (const candidate of candidates) {
    if (judged.has(candidate.ticketId)) continue; // the same ticket by another reference: same participants
    judged.add(candidate.ticketId);
    // A sender without an address ("unknown": no usable From nor envelope sender) is nobody in particular.
    if (who.includes('@') && candidate.participants.includes(who)) {
      return { ticketId: candidate.ticketId, threading: [`appended to T-${candidate.ticketId} (${how(candidate)})`, ...listed(refused)].join('; ') };
    }
    refused.push(`refused: sender ${who} is not a participant of T-${candidate.ticketId} (${how(candidate)})`);
  }
  return { ticketId: undefined, threading: refused.length > 0 ? listed(refused).join('; ') : 'new ticket' };
};

function how(c: TicketCandidate): string {
  if (c.via === 'subject') return `subject ${c.ref}`;
  return c.via === 'reply' ? `replies to ${c.ref}` : `a message of it replies to ${c.ref}`;
}

/** References headers can name hundreds of messages: the reason names the first few. */
const shown = 5;
function listed(reasons: string[]): string[] {
  return reasons.length <= shown ? reasons : [...reasons.slice(0, shown), `${reasons.length - shown} more tickets refused`];
}
