// The group commit of events.receive, on both backends: events received together share a commit,
// and one the database refuses fails alone (validation is the receiver's; this is the store's net).
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { openStore } from '../../src/store/open.ts';
import type { NewEvent, Store } from '../../src/store/types.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';

const T0 = Date.parse('2026-11-20T09:00:00Z');
const TTL = 86_400_000;

describeBackends('group commit isolation', (backend) => {
  let store: Store;
  let fresh: FreshStore;
  let cleanup: () => void;
  let n = 0;
  const event = (overrides: Partial<NewEvent> = {}): NewEvent => ({
    source: 'muro',
    eventId: `evt_gc_${++n}`,
    type: 'message.created',
    receivedAt: T0,
    headers: {},
    body: '{}',
    test: false,
    ...overrides,
  });

  beforeEach(async () => {
    const temp = tempDir();
    cleanup = temp.cleanup;
    fresh = await backend.fresh(temp.dir);
    store = await openStore(configSchema.parse({ store: { url: fresh.url } }).store, { longRunning: false });
  });
  afterEach(async () => {
    await store.close();
    await fresh.drop();
    cleanup();
  });

  /** Receives `events` in the same turn of the event loop, so that they share a batch. */
  const together = (events: NewEvent[]) => Promise.allSettled(events.map((e) => store.inbox.receive(e, TTL)));

  it('an event the database refuses (no type) fails alone; the others in its batch are stored', async () => {
    const good = Array.from({ length: 6 }, () => event());
    const bad = event({ type: null as unknown as string });
    const results = await together([...good.slice(0, 3), bad, ...good.slice(3)]);
    expect(results[3]!.status).toBe('rejected');
    const others = results.filter((_, i) => i !== 3);
    expect(others.map((r) => r.status)).toEqual(good.map(() => 'fulfilled'));
    for (const e of good) expect(await store.read.receipts(e.eventId, 'muro')).toHaveLength(1);
  });

  it('an id too large for an index does not fail the events received with it', async () => {
    const good = Array.from({ length: 6 }, () => event());
    // Random, so that PostgreSQL cannot compress it under its index row limit (2704 bytes).
    const huge = event({ eventId: randomBytes(5_000).toString('hex') });
    const results = await together([...good.slice(0, 3), huge, ...good.slice(3)]);
    const others = results.filter((_, i) => i !== 3);
    expect(others.map((r) => r.status)).toEqual(good.map(() => 'fulfilled'));
    for (const e of good) expect(await store.read.receipts(e.eventId, 'muro')).toHaveLength(1);
  });

  it('duplicates within and across batches still resolve as duplicates after a fallback', async () => {
    const first = event();
    const bad = event({ type: null as unknown as string });
    const results = await together([first, bad, { ...first }]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { duplicate: false } });
    expect(results[1]!.status).toBe('rejected');
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { duplicate: true } });
  });
});
