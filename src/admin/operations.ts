import type { RecipeSet } from '../recipes/load.ts';
import { formatDiagnostic } from '../errors.ts';
import type { EventRecord, EventSummary, RetryResult, RunDetail, RunStatus, Store, TicketDetail, TicketSummary } from '../store/types.ts';
import { sanitizeContentType, sanitizeFilename } from '../domain/attachments.ts';
import { shownPayload } from './payload.ts';
import { stepsOf } from './run-view.ts';

/**
 * What operators can ask and do, shared by the admin API, the console and the CLI, so that the three
 * always agree.
 */

/** `failed` (as in the admin API) means a run whose last attempt failed and that will be retried. */
export function runStatusFilter(status: string | undefined): RunStatus | undefined {
  if (status === undefined || status === '') return undefined;
  return status === 'failed' ? 'retrying' : (status as RunStatus);
}

export const runStatuses = ['queued', 'running', 'retrying', 'failed', 'waiting', 'done', 'dead', 'skipped'];

/** The statuses a ticket can have: hookline opens tickets and does not close them yet. */
export const ticketStatuses = ['open'];

/** An event in a list (GET /admin/events, `hookline events --json`). */
export function eventSummaryJson(e: EventSummary) {
  return { seq: e.seq, source: e.source, id: e.eventId, type: e.type, received_at: new Date(e.receivedAt).toISOString(), test: e.test, status: e.status, generation: e.generation, dispatch_error: e.dispatchError };
}

/** An event as operators see it; a payload too deep (or not JSON) is shown cut, with its raw body beside it. */
export function eventJson(e: EventRecord) {
  const shown = shownPayload(e.body);
  return {
    seq: e.seq,
    source: e.source,
    id: e.eventId,
    type: e.type,
    received_at: new Date(e.receivedAt).toISOString(),
    test: e.test,
    status: e.status,
    generation: e.generation,
    dispatch_error: e.dispatchError,
    headers: e.headers,
    payload: shown.payload,
    ...(shown.note !== undefined ? { payload_note: shown.note, body: e.body } : {}),
  };
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runJson(r: RunDetail | Omit<RunDetail, 'steps' | 'attempts'>) {
  return {
    id: r.id,
    recipe: r.recipe,
    recipe_version: r.recipeVersion,
    event_seq: r.eventSeq,
    status: r.status,
    key: r.key,
    generation: r.generation,
    attempt: r.attempt,
    error: r.error,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    next_attempt_at: r.status === 'retrying' || r.status === 'queued' ? iso(r.availableAt) : null,
    /** Flow control holds it (rate:<connection>, circuit:<connection>): it waits without spending an attempt. */
    hold: (r.status === 'retrying' || r.status === 'queued') && r.hold ? r.hold : null,
    ...('steps' in r ? stepsJson(r) : {}),
  };
}

/** A run's steps as it did them (see run-view.ts): a failed step is `failed`, attempts numbered on across retries. */
function stepsJson(r: RunDetail) {
  const { steps, attempts } = stepsOf(r);
  return {
    steps: steps.map((s) => ({
      id: s.id,
      status: s.status,
      reason: s.reason,
      attempt_count: s.attempts.length,
      output: s.output,
      started_at: iso(s.startedAt),
      finished_at: iso(s.finishedAt),
    })),
    attempts: attempts.map((a) => ({
      step: a.stepId,
      attempt: a.attempt,
      outcome: a.outcome,
      started_at: iso(a.startedAt),
      duration_ms: a.durationMs,
      status_code: a.statusCode ?? null,
      error: a.error ?? null,
      request: a.request ?? null,
      response: a.response ?? null,
    })),
  };
}

/** An event by id (the newest receipt unless `seq` picks another), with its runs. */
export async function eventDetail(store: Store, id: string, seq?: number) {
  const receipts = await store.read.receipts(id);
  const event = seq === undefined ? receipts[0] : receipts.find((r) => r.seq === seq);
  if (!event) return undefined;
  const runs = await store.read.runsOfEvent(event.seq);
  return { event: eventJson(event), receipts: receipts.map((r) => r.seq), runs: runs.map(runJson) };
}

/**
 * Runs an event through the recipes again. One that was set aside (its dispatch failed) is
 * dispatched again as if for the first time: same generation, so it answers waits and its steps keep
 * their idempotency keys; any other is replayed (generation + 1).
 */
export async function replayEvent(store: Store, id: string): Promise<{ seq: number; generation: number; retried: boolean } | undefined> {
  const [event] = await store.read.receipts(id);
  if (!event) return undefined;
  if (event.status === 'failed' && (await store.operations.redispatch(event.seq))) return { seq: event.seq, generation: event.generation, retried: true };
  if (!(await store.operations.replay(event.seq))) return undefined;
  return { seq: event.seq, generation: event.generation + 1, retried: false };
}

export const retryMessages: Record<RetryResult, string> = {
  retried: 'queued again; finished steps will not run again',
  not_found: 'no such run',
  not_dead: 'the run is not in dead letters',
  key_busy: 'another live run holds this run’s key; retry it when that one ends',
};

export function recipesJson(set: RecipeSet) {
  return {
    recipes: [...set.recipes.values()].map((r) => ({
      name: r.name,
      description: r.description ?? null,
      file: r.file,
      enabled: r.enabled,
      on: r.on.map((m) => m.text),
      ...(r.schedule ? { schedule: { cron: r.schedule.cron, timezone: r.schedule.timezone } } : {}),
      version: r.hash,
      steps: r.steps.map((s) => ({ id: s.id, action: s.kind === 'wait' ? 'wait_for' : s.action.name })),
      tests: r.tests.length,
      refused_change: set.refused.includes(r.file),
    })),
    errors: set.diagnostics.map((d) => ({ file: d.file, line: d.line, col: d.col, message: d.message, text: formatDiagnostic(d) })),
  };
}

export function ticketJson(t: TicketSummary | TicketDetail) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: t.id,
    number: `T-${t.id}`,
    subject: t.subject,
    status: t.status,
    customer: t.customer,
    message_count: t.messageCount,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
    ...('messages' in t
      ? {
          participants: t.participants,
          messages: t.messages.map((m) => ({
            id: m.id,
            event_seq: m.eventSeq,
            received_at: iso(m.receivedAt),
            from: m.from,
            subject: m.subject,
            text: m.text,
            html: m.html,
            message_id: m.messageId,
            threading: m.threading,
            // Cleaned again on the way out: rows recorded before names and types were cleaned on receipt.
            attachments: m.attachments.map((a) => ({
              filename: sanitizeFilename(a.filename),
              content_type: sanitizeContentType(a.contentType),
              size: a.size,
              sha256: a.sha256,
              saved: a.saved,
              ...(a.reason ? { reason: a.reason } : {}),
            })),
          })),
        }
      : {}),
  };
}

/** "T-12" or "12" → 12. */
export function ticketId(text: string): number | undefined {
  const m = /^(?:T-)?(\d{1,12})$/i.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** The LLM summaries the built-in recipe stores (the table exists once the first was stored). */
export const summariesTable = 'conversation_summaries';
