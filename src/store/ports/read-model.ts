import type { EventRecord, EventSummary } from './inbox.ts';
import type { AttemptRecord, RunRecord, RunStatus, StepRecord } from './queue.ts';
import type { TicketAttachment } from './records.ts';

/**
 * The operators' read model: what the admin API, the console, the CLI and the metrics show. Lists
 * are newest first and bounded; nothing here is on the path of an event.
 */

export interface EventFilter {
  source?: string | undefined;
  /** Exact type or a glob (conversation.*). */
  type?: string | undefined;
  /** Newest first; at most this many (default 50). */
  limit?: number | undefined;
  /** Only events with a smaller seq (paging). */
  before?: number | undefined;
  /** Matches the event id exactly, or any text inside the body (an email address, say). */
  search?: string | undefined;
}

export interface RunFilter {
  status?: RunStatus | undefined;
  recipe?: string | undefined;
  limit?: number | undefined;
  /** Only runs with an id smaller than this (paging; ids sort by creation). */
  before?: string | undefined;
}

export interface RunDetail extends RunRecord {
  steps: StepRecord[];
  attempts: AttemptRecord[];
}

export interface DispatchBacklog {
  /** receivedAt of the oldest event waiting for its first dispatch (replays left out: they keep their old time). */
  oldestPending: number | undefined;
  /** Events set aside (status failed). */
  setAside: number;
}

export interface TicketSummary {
  id: number;
  subject: string;
  status: string;
  customer: { id: number; email: string; name: string | null };
  messageCount: number;
  createdAt: number;
  updatedAt: number;
}

export interface TicketMessage {
  id: number;
  eventSeq: number;
  receivedAt: number;
  from: string;
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  /** How it was threaded (null for messages recorded before this was kept). */
  threading: string | null;
  attachments: TicketAttachment[];
}

export interface TicketDetail extends TicketSummary {
  /** Who may append to it by replying: its customer and the addresses recorded as taking part, sorted. */
  participants: string[];
  messages: TicketMessage[];
}

export interface TicketFilter {
  status?: string | undefined;
  /** Matches subject or customer email. */
  search?: string | undefined;
  limit?: number | undefined;
}

export interface ReadModel {
  /** Stored events, newest first, as summaries (no body, no headers). */
  events(filter: EventFilter): Promise<EventSummary[]>;
  /** Every stored receipt of this event id (a TTL-expired id can be received again), newest first. */
  receipts(eventId: string, source?: string): Promise<EventRecord[]>;
  event(seq: number): Promise<EventRecord | undefined>;
  eventCount(): Promise<number>;
  /** Runs, newest id first. */
  runs(filter: RunFilter): Promise<RunRecord[]>;
  run(runId: string): Promise<RunDetail | undefined>;
  /** The runs an event started, with their steps and attempts, oldest first. */
  runsOfEvent(eventSeq: number): Promise<RunDetail[]>;
  /** The runs of several events at once (a page of the events list), oldest first. */
  runsOfEvents(eventSeqs: readonly number[]): Promise<RunRecord[]>;
  /** Runs by status, leaving out statuses with none. */
  runCounts(): Promise<Partial<Record<RunStatus, number>>>;
  /** How dispatch stands, for /readyz and metrics. */
  backlog(): Promise<DispatchBacklog>;
  /** Newest activity first. */
  tickets(filter: TicketFilter): Promise<TicketSummary[]>;
  ticket(id: number): Promise<TicketDetail | undefined>;
  /** Rows of a `store` table, newest first. */
  tableRows(table: string, limit: number): Promise<Array<Record<string, unknown>>>;
}

export type RetryResult = 'retried' | 'not_found' | 'not_dead' | 'key_busy';

/** What operators do to events and runs (the admin API, the console, the CLI). */
export interface Operations {
  /** Sends an event through the recipes again: back to `received`, generation + 1. False if unknown. */
  replay(seq: number): Promise<boolean>;
  /** A set-aside event back to received, in the same generation: dispatched as if for the first time. False if it was not set aside. */
  redispatch(seq: number): Promise<boolean>;
  /** Dead letter back to the queue, attempts reset; finished steps stay finished. */
  retryRun(runId: string, now: number): Promise<RetryResult>;
  /** Every dead run that can be retried; returns how many were. */
  retryAllDead(now: number): Promise<number>;
}
