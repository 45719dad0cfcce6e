import type { Announcement, EventRecord } from '../store/types.ts';

/** The source of the events hookline announces about itself. */
export const hooklineSource = 'hookline';

/** How long the id of an announcement is remembered (as a received event's, by default). */
const dedupTtlMs = 24 * 3600_000;

/**
 * hookline/run.dead: a run went to dead letters. Appended to the inbox in the transaction that ends
 * the run, and dispatched to recipes like any event (an alert recipe: `on: hookline/run.dead`). Its
 * id is derived from the run and the moment it started the execution that died, so a death is
 * announced once, and a dead run retried by an operator that dies again is announced again.
 *
 * A run started by a hookline/* event announces nothing: an alert recipe that fails must not set off
 * another alert, and another.
 */
export function runDeadNotice(
  run: { id: string; recipe: string; since: number },
  trigger: Pick<EventRecord, 'source' | 'eventId' | 'type'>,
  step: string | null,
  error: string,
  now: number,
): Announcement | undefined {
  if (trigger.source === hooklineSource) return undefined;
  const id = `run.dead:${run.id}:${run.since}`;
  const body = {
    id,
    type: 'run.dead',
    created_at: new Date(now).toISOString(),
    data: { run: run.id, recipe: run.recipe, event: { source: trigger.source, id: trigger.eventId, type: trigger.type }, step, error },
  };
  return {
    event: { source: hooklineSource, eventId: id, type: 'run.dead', receivedAt: now, headers: {}, body: JSON.stringify(body), test: false },
    dedupTtlMs,
  };
}
