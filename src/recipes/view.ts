import type { EventRecord } from '../store/types.ts';

/**
 * What expressions see as the event: its body, with `source`, `id` (the dedup id), `type`,
 * `received_at` and `test` always present whatever the source's own field names.
 */
export function eventView(event: EventRecord): Record<string, unknown> {
  const body = JSON.parse(event.body) as Record<string, unknown>;
  return {
    ...body,
    source: event.source,
    id: event.eventId,
    type: event.type,
    received_at: new Date(event.receivedAt).toISOString(),
    test: event.test,
    seq: event.seq,
  };
}

/** JSONata-style truth: nothing, null, false, 0, "" and [] are false. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy);
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}
