import type {
  AttemptRecord,
  EventRecord,
  EventSummary,
  RunRecord,
  RunStatus,
  StepRecord,
  TicketAttachment,
  TicketSummary,
  TranscriptMessage,
  WaitRecord,
} from './types.ts';

/**
 * Rows as both backends store them (same table and column names) and their mapping to the port's
 * records. Numbers are passed through Number(): the pg driver may hand bigints over as strings.
 */

/** JSON columns: undefined and null both stored as NULL. */
export const toJson = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));
export const fromJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export interface EventRow {
  seq: number;
  source: string;
  event_id: string;
  type: string;
  received_at: number;
  headers: string;
  body: string;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  test: number | boolean;
  status: EventRecord['status'];
  generation: number;
  dispatch_error: string | null;
}

export const eventSummaryColumns = 'seq, source, event_id, type, received_at, test, status, generation, dispatch_error';

export function toEventSummary(row: Omit<EventRow, 'headers' | 'body'>): EventSummary {
  return {
    seq: Number(row.seq),
    source: row.source,
    eventId: row.event_id,
    type: row.type,
    receivedAt: Number(row.received_at),
    test: row.test === true || row.test === 1,
    status: row.status,
    generation: row.generation,
    dispatchError: row.dispatch_error ?? null,
  };
}

export function toEvent(row: EventRow): EventRecord {
  return { ...toEventSummary(row), headers: JSON.parse(row.headers), body: row.body };
}

export interface RunRow {
  id: string;
  event_seq: number;
  recipe: string;
  recipe_version?: string | null;
  run_key: string | null;
  generation: number;
  status: RunStatus;
  lane: string | null;
  attempt: number;
  available_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  error: string | null;
  hold?: string | null;
}

export interface StepRow {
  run_id: string;
  step_id: string;
  status: StepRecord['status'];
  output: string | null;
  started_at: number;
  finished_at: number | null;
}

export interface AttemptRow {
  run_id: string;
  step_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  outcome: AttemptRecord['outcome'];
  status_code: number | null;
  error: string | null;
  request: string | null;
  response: string | null;
}

export const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  eventSeq: Number(r.event_seq),
  recipe: r.recipe,
  recipeVersion: r.recipe_version ?? null,
  key: r.run_key,
  generation: r.generation,
  status: r.status,
  lane: r.lane,
  attempt: r.attempt,
  availableAt: Number(r.available_at),
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  error: r.error,
  // Only when flow control holds it: a run record keeps the shape it had before flow control.
  ...(r.hold ? { hold: r.hold } : {}),
});

export const toStep = (r: StepRow): StepRecord => ({
  runId: r.run_id,
  stepId: r.step_id,
  status: r.status,
  output: fromJson(r.output),
  startedAt: Number(r.started_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

export const toAttempt = (r: AttemptRow): AttemptRecord => ({
  runId: r.run_id,
  stepId: r.step_id,
  attempt: r.attempt,
  startedAt: Number(r.started_at),
  durationMs: r.duration_ms,
  outcome: r.outcome,
  ...(r.status_code === null ? {} : { statusCode: r.status_code }),
  ...(r.error === null ? {} : { error: r.error }),
  ...(r.request === null ? {} : { request: fromJson(r.request) }),
  ...(r.response === null ? {} : { response: fromJson(r.response) }),
});

/** A waiting wait joined with its run's trigger event (e.*, so the wait's own columns are aliased). */
export type WaitingRow = EventRow & {
  run_id: string;
  step_id: string;
  wait_source: string;
  wait_type: string;
  deadline: number;
  wait_status: WaitRecord['status'];
  recipe: string;
  recipe_version?: string | null;
};

export const toWaiting = (row: WaitingRow): WaitRecord => ({
  runId: row.run_id,
  stepId: row.step_id,
  // Aliased: e.* has a `source` too (the trigger's), which may be another source than the wait's.
  source: row.wait_source,
  type: row.wait_type,
  deadline: Number(row.deadline),
  status: row.wait_status,
  recipe: row.recipe,
  recipeVersion: row.recipe_version ?? null,
  trigger: toEvent(row),
});

export interface MessageRow {
  conversation_id: string;
  message_id: string;
  event_seq: number;
  position: number;
  message: string;
}

export const toTranscriptMessage = (r: MessageRow): TranscriptMessage => ({
  conversationId: r.conversation_id,
  messageId: r.message_id,
  eventSeq: Number(r.event_seq),
  position: r.position,
  message: JSON.parse(r.message),
});

export const transcriptSql = (param: string) => `
  SELECT conversation_id, message_id, event_seq, position, message FROM transcript_messages
  WHERE conversation_id = ${param} ORDER BY event_seq, position`;

export interface TicketSummaryRow {
  id: number;
  subject: string;
  status: string;
  message_count: number;
  created_at: number;
  updated_at: number;
  customer_id: number;
  email: string;
  name: string | null;
}

export const ticketSummarySql = `
  SELECT t.id, t.subject, t.status, t.message_count, t.created_at, t.updated_at, c.id AS customer_id, c.email, c.name
  FROM tickets t JOIN customers c ON c.id = t.customer_id`;

export const toTicketSummary = (r: TicketSummaryRow): TicketSummary => ({
  id: Number(r.id),
  subject: r.subject,
  status: r.status,
  customer: { id: Number(r.customer_id), email: r.email, name: r.name },
  messageCount: r.message_count,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const toTicketAttachment = (a: Record<string, unknown>): TicketAttachment => ({
  filename: a.filename as string,
  contentType: a.content_type as string,
  size: Number(a.size),
  sha256: a.sha256 as string | null,
  saved: a.saved === true || a.saved === 1,
  ...(a.reason ? { reason: a.reason as string } : {}),
  contentId: a.content_id as string | null,
});

export const toTicketMessage = (m: Record<string, unknown>, attachments: TicketAttachment[]) => ({
  id: Number(m.id),
  eventSeq: Number(m.event_seq),
  receivedAt: Number(m.received_at),
  from: m.from_address as string,
  subject: m.subject as string,
  text: m.text as string,
  html: m.html as string | null,
  messageId: m.message_id as string | null,
  threading: (m.threading ?? null) as string | null,
  attachments,
});
