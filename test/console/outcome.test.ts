import { describe, expect, it } from 'vitest';
import { listEvents } from '../../src/console/outcome.ts';
import type { EventSummary, ReadModel, RunRecord } from '../../src/store/types.ts';

/** A read model over fixed events and runs that counts the queries made of it. */
function readModel(events: EventSummary[], runs: RunRecord[]) {
  const calls = { events: 0, runsOfEvents: 0, runsOfEvent: 0 };
  const read: Pick<ReadModel, 'events' | 'runsOfEvents' | 'runsOfEvent'> = {
    events: async (f) => {
      calls.events++;
      return events.filter((e) => f.before === undefined || e.seq < f.before).slice(0, f.limit ?? 50);
    },
    runsOfEvents: async (seqs) => {
      calls.runsOfEvents++;
      return runs.filter((r) => seqs.includes(r.eventSeq));
    },
    runsOfEvent: async () => {
      calls.runsOfEvent++;
      return [];
    },
  };
  return { read, calls };
}

const event = (seq: number): EventSummary => ({ seq, source: 'muro', eventId: `e${seq}`, type: 'x', receivedAt: 0, test: false, status: 'dispatched', generation: 0, dispatchError: null });
const run = (eventSeq: number, status: RunRecord['status']): RunRecord => ({
  id: `r${eventSeq}`,
  eventSeq,
  recipe: 'r',
  recipeVersion: null,
  key: null,
  generation: 0,
  status,
  lane: null,
  attempt: 0,
  availableAt: 0,
  leaseOwner: null,
  leaseUntil: null,
  createdAt: 0,
  updatedAt: 0,
  error: null,
});

describe('the events list', () => {
  it('reads the runs of a whole page in one query, not one per event', async () => {
    const events = Array.from({ length: 120 }, (_, i) => event(120 - i));
    const { read, calls } = readModel(events, [run(120, 'done'), run(119, 'dead'), run(3, 'waiting')]);
    const page = await listEvents({ read }, { limit: 50 });
    expect(page.rows).toHaveLength(50);
    expect(page.rows.slice(0, 3).map((r) => r.outcome)).toEqual(['done', 'dead', 'unmatched']);
    expect(calls).toEqual({ events: 1, runsOfEvents: 1, runsOfEvent: 0 });

    // Filtering by outcome scans page after page: still one runs query per page of events.
    const waiting = await listEvents({ read }, { limit: 50, outcome: 'waiting' });
    expect(waiting.rows.map((r) => r.event.seq)).toEqual([3]);
    expect(calls.runsOfEvents).toBe(1 + 2);
    expect(calls.runsOfEvent).toBe(0);
  });
});
