// Small builders shared by the conformance suite and the backend-specific store tests.
import type { Announcement, AttemptRecord, DispatchOutcome, NewEvent, NewRun, Store, TranscriptMessage, WaitResolution } from '../../src/store/types.ts';

export const T0 = 1_700_000_000_000;
export const TTL = 1_000;

let counter = 0;
/** A unique event id (unique across processes, so that stores sharing a database do not collide). */
export const uid = (prefix = 'evt') => `${prefix}_${process.pid}_${++counter}`;

export function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  const eventId = overrides.eventId ?? uid();
  return {
    source: 'muro',
    eventId,
    type: 'message.created',
    receivedAt: T0,
    headers: { 'content-type': 'application/json', 'x-muro-event-id': eventId },
    body: JSON.stringify({ id: eventId, data: { text: 'hello' } }),
    test: false,
    ...overrides,
  };
}

/** Receives a fresh event and returns its seq. */
export async function receive(store: Store, overrides: Partial<NewEvent> = {}, ttlMs = TTL): Promise<number> {
  const result = await store.inbox.receive(newEvent(overrides), ttlMs);
  if (result.duplicate) throw new Error('unexpected duplicate');
  return result.seq;
}

export interface PlanParts {
  now?: number;
  generation?: number;
  messages?: TranscriptMessage[];
  runs?: NewRun[];
  resolutions?: WaitResolution[];
  announce?: Announcement[];
}

export async function commit(store: Store, seq: number, parts: PlanParts = {}): Promise<DispatchOutcome> {
  const [outcome] = await store.dispatch.commit([
    {
      seq,
      generation: parts.generation ?? 0,
      now: parts.now ?? T0,
      messages: parts.messages ?? [],
      runs: parts.runs ?? [],
      resolutions: parts.resolutions ?? [],
      announce: parts.announce ?? [],
    },
  ]);
  return outcome!;
}

/** Receives an event (of `source`) and dispatches it with these runs at `now`; returns the event's seq. */
export async function createRuns(store: Store, runs: NewRun[], now = T0, event: Partial<NewEvent> = {}): Promise<number> {
  const seq = await receive(store, { receivedAt: now, ...event });
  const outcome = await commit(store, seq, { now, runs });
  if (outcome.created.length + outcome.keyBusy.length !== runs.length) throw new Error(`commit of ${seq} created nothing`);
  return seq;
}

export const run = (id: string, extra: Partial<NewRun> = {}): NewRun => ({ id, recipe: 'notify', status: 'queued', ...extra });

export function attempt(runId: string, stepId: string, extra: Partial<AttemptRecord> = {}): AttemptRecord {
  return { runId, stepId, attempt: 1, startedAt: T0, durationMs: 12, outcome: 'ok', ...extra };
}

/** Runs the promises and returns how each settled, errors included. */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Resolves a wait as dispatch does: a fresh event whose plan carries the resolution. True if it was still waiting. */
export async function resolveWait(store: Store, resolution: WaitResolution, now: number): Promise<boolean> {
  const seq = await receive(store, { receivedAt: now });
  return (await commit(store, seq, { now, resolutions: [resolution] })).resolved.length === 1;
}
