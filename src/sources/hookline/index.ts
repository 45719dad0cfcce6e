import { fileURLToPath } from 'node:url';
import { text } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import type { SampleEvent, TestDelivery } from '../types.ts';

/**
 * hookline's own events (PRODUCT §9): source `hookline`, never received over HTTP (no config entry
 * may take the name), appended to the inbox by hookline itself so that recipes subscribe to them like
 * to any source. Bodies look like a provider's: `{ id, type, created_at, data }`.
 *
 * - `run.dead`: a run went to dead letters (emitted by the queue, in the transaction that finishes the run).
 * - `source.rejecting`: a source's deliveries keep failing on their signature alone, none accepted,
 *   for `sources.<name>.alert_after` — the mark of a wrong secret. Once per episode.
 * - `source.recovered`: the first delivery of that source to verify again after `source.rejecting`.
 */

export const ownSource = 'hookline';

const eventTypes = ['run.dead', 'source.rejecting', 'source.recovered'] as const;
export type HooklineEventType = (typeof eventTypes)[number];

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name, body) => text(body.type) ?? name);

export const hookline = {
  eventTypes,
  samples,
  identify: ({ body }: { body: Record<string, unknown> }) => ({ id: body.id, type: body.type }),
  /** A sample with a fresh id and time, as `hookline test` and the console use it. */
  testEvent: ({ type, body }: SampleEvent, { id, nowSec }: { id: string; nowSec: number }): TestDelivery => ({
    id,
    type,
    body: { ...body, id, type, created_at: isoTime(nowSec) },
  }),
};

/** The body of one of hookline's own events. */
export function ownEvent(type: HooklineEventType, id: string, nowMs: number, data: Record<string, unknown>): Record<string, unknown> {
  return { id, type, created_at: new Date(nowMs).toISOString(), data };
}
