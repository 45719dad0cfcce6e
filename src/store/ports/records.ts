import type { TranscriptMessage } from './dispatch.ts';

/**
 * hookline's own records: conversation transcripts, tickets and the tables of the `store` action.
 * Actions get only the records they write (ActionRecords), never the whole store.
 */

export interface ConversationRecords {
  /** A conversation's messages in dispatch order, by the index key of its id. */
  transcript(conversationKey: string): Promise<TranscriptMessage[]>;
}

export type Row = Record<string, string | number | boolean | null>;

export interface TableRecords {
  /**
   * Inserts a row into a named table, creating the table (and any new column) on first use.
   * The idempotency key makes a retried insert a no-op; returns false then.
   */
  insert(insert: { table: string; row: Row; idempotencyKey: string; now: number }): Promise<boolean>;
}

/** An attachment as the stored event describes it (see domain/attachments.ts). */
export interface TicketAttachment {
  filename: string;
  contentType: string;
  size: number;
  /** Null when it was not saved (too large, spam, not base64). */
  sha256: string | null;
  saved: boolean;
  reason?: string | undefined;
  contentId?: string | null | undefined;
}

export interface TicketMessageInput {
  /** A retried step records nothing twice: the message with this key already exists. */
  idempotencyKey: string;
  eventSeq: number;
  receivedAt: number;
  /** Sender address (the customer); compared lower-cased. */
  from: string;
  fromName?: string | null | undefined;
  /** Addresses in its To and Cc: with the sender, they take part in the ticket it lands on from then on. */
  recipients: string[];
  subject: string;
  text: string;
  html?: string | null | undefined;
  /** The email's Message-ID, and the ids it replies to (In-Reply-To, then References). */
  messageId?: string | null | undefined;
  replyTo: string[];
  /** A ticket number written in the subject, like [#T-12]. */
  ticketNumber?: number | undefined;
  attachments: TicketAttachment[];
}

export interface TicketResult {
  ticketId: number;
  customerId: number;
  messageId: number;
  /** A new ticket was opened (false: appended to an existing one). */
  created: boolean;
  /** This input was recorded before (same idempotency key): nothing changed. */
  duplicate: boolean;
  /** How the threading rule placed it, e.g. `refused: sender x is not a participant of T-1 (subject [#T-1])`. */
  threading: string;
}

/**
 * A ticket an email points at — the number in its subject, a stored message it replies to, a stored
 * message that replies to it — with who takes part in that ticket: what the threading rule decides from.
 */
export interface TicketCandidate {
  ticketId: number;
  via: 'subject' | 'reply' | 'replied-by';
  /** `[#T-12]`, or the Message-ID that links the email and the ticket. */
  ref: string;
  /** The ticket's customer and every address recorded as taking part in it: lower-cased, sorted. */
  participants: string[];
}

/** The ticket to append to (undefined: open a new one), and why, to record with the message. */
export interface ThreadingDecision {
  ticketId: number | undefined;
  threading: string;
}

/** Decides where an email goes from its sender (lower-cased) and its candidates (see domain/ticket-threading.ts). */
export type ThreadingRule = (sender: string, candidates: TicketCandidate[]) => ThreadingDecision;

export interface TicketRecords {
  /**
   * In one transaction: get or create the customer by sender address; gather the tickets the email
   * points at, in this order — the number in its subject, the stored messages it replies to (in the
   * order of its In-Reply-To/References), the stored messages that already reply to it (a reply
   * that arrived first) — each with its participants, and let `thread` choose among them (or a new
   * ticket); append the message with its attachments' metadata and the decision's reason, and add
   * the sender and recipients to the ticket's participants. Messages are listed in receive order
   * whatever the order of recording, and a ticket takes its subject from its earliest message.
   */
  record(input: TicketMessageInput, now: number, thread: ThreadingRule): Promise<TicketResult>;
}

/** The records an action may write. */
export interface ActionRecords {
  tickets: TicketRecords;
  tables: TableRecords;
}

export interface Records extends ActionRecords {
  conversations: ConversationRecords;
}
