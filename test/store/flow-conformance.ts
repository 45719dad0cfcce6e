// Issue 14's store ports (recipe versions, schedules, bulk operations), written once and run against
// every backend beside the main conformance suite (sqlite.test.ts, postgres.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Announcement, Store } from '../../src/store/types.ts';
import type { OpenedStore, StoreHarness } from './conformance.ts';
import { createRuns, newEvent, run, T0, uid } from './fixtures.ts';

export function describeFlowConformance(name: string, harness: Pick<StoreHarness, 'open'>): void {
  describe(`store conformance (versions, schedules, bulk): ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await harness.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('keeps the first source recorded for a recipe version', async () => {
      await store.versions.record({ recipe: 'r', hash: 'aaa', file: '/r.yaml', source: 'one', firstUsed: T0 });
      await store.versions.record({ recipe: 'r', hash: 'aaa', file: '/r.yaml', source: 'two', firstUsed: T0 + 1 });
      expect(await store.versions.get('r', 'aaa')).toEqual({ recipe: 'r', hash: 'aaa', file: '/r.yaml', source: 'one', firstUsed: T0 });
      expect(await store.versions.get('r', 'bbb')).toBeUndefined();
      // The run carries its version.
      await createRuns(store, [run('rv1', { version: 'aaa' })]);
      expect((await store.read.run('rv1'))!.recipeVersion).toBe('aaa');
    });

    it('fires a tick once, whoever asks at the same moment, with its event in the same transaction', async () => {
      const recipe = `digest_${uid('r')}`;
      expect(await store.schedules.lastTick(recipe)).toBeUndefined();
      expect(await store.schedules.fire(recipe, T0, undefined, T0)).toBe(true); // baseline, no event
      expect(await store.schedules.fire(recipe, T0, undefined, T0)).toBe(false);
      const event = (): Announcement => ({ event: newEvent({ source: 'hookline', type: 'schedule', eventId: `schedule:${recipe}:1` }), dedupTtlMs: 60_000 });
      const results = await Promise.all([1, 2, 3].map(() => store.schedules.fire(recipe, T0 + 60_000, event(), T0 + 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.schedules.lastTick(recipe)).toBe(T0 + 60_000);
      // A late instance's older tick never fires after a newer one.
      expect(await store.schedules.fire(recipe, T0 + 30_000, event(), T0 + 60_000)).toBe(false);
      expect((await store.read.events({ source: 'hookline', limit: 10 })).filter((e) => e.eventId === `schedule:${recipe}:1`)).toHaveLength(1);
    });

    it('selects events by time, source, type glob, recipe and run status, and records who replayed them', async () => {
      const a = await createRuns(store, [run('ba', { recipe: 'crm', status: 'dead', error: 'x' })], T0, { type: 'conversation.opened' });
      const b = await createRuns(store, [run('bb', { recipe: 'crm' })], T0 + 1000, { type: 'conversation.closed' });
      const c = await createRuns(store, [run('bc', { recipe: 'slack' })], T0 + 2000, { type: 'message.created' });
      const seqs = async (f: Parameters<Store['bulk']['events']>[0]) => (await store.bulk.events(f, 100)).map((e) => e.seq);
      expect(await seqs({ type: 'conversation.*' })).toEqual([a, b]);
      expect(await seqs({ since: T0 + 1000 })).toEqual([b, c]);
      expect(await seqs({ until: T0 + 1000 })).toEqual([a]);
      expect(await seqs({ recipe: 'crm' })).toEqual([a, b]);
      expect(await seqs({ recipe: 'crm', status: 'dead' })).toEqual([a]);
      expect(await seqs({ source: 'meru' })).toEqual([]);
      expect(await store.bulk.events({}, 1, a)).toMatchObject([{ seq: b }]); // paging

      await store.bulk.begin({ id: 'op1', kind: 'replay', filter: { recipe: 'crm' }, again: false, matched: 2, now: T0 });
      expect(await store.bulk.replay('op1', a)).toBe(true);
      expect(await store.bulk.replay('op1', 999_999)).toBe(false);
      await store.bulk.finish('op1', { done: 1, skipped: 0 }, T0 + 5);
      const [first, second] = await store.bulk.events({ recipe: 'crm' }, 100);
      expect(first).toMatchObject({ seq: a, doneBy: 'op1', status: 'received', generation: 1 });
      expect(second).toMatchObject({ seq: b, doneBy: null });
      expect(await store.bulk.operations(10)).toEqual([
        { id: 'op1', kind: 'replay', filter: { recipe: 'crm' }, again: false, createdAt: T0, matched: 2, done: 1, skipped: 0, finishedAt: T0 + 5 },
      ]);
    });

    it('retries dead runs by filter, each recorded; a busy key leaves the run dead', async () => {
      await createRuns(store, [run('d1', { recipe: 'crm', status: 'dead', error: 'x' })], T0, { type: 'conversation.opened' });
      await createRuns(store, [run('d2', { recipe: 'slack', status: 'dead', error: 'x', key: 'k' })], T0 + 10);
      await createRuns(store, [run('d3', { recipe: 'slack', key: 'k' })], T0 + 20);
      expect((await store.bulk.deadRuns({ type: 'conversation.*' }, 100)).map((r) => r.id)).toEqual(['d1']);
      expect((await store.bulk.deadRuns({ recipe: 'slack', since: T0 + 5 }, 100)).map((r) => r.id)).toEqual(['d2']);
      await store.bulk.begin({ id: 'op2', kind: 'retry', filter: {}, again: false, matched: 2, now: T0 });
      expect(await store.bulk.retry('op2', 'd1', T0 + 100)).toBe('retried');
      expect(await store.bulk.retry('op2', 'd2', T0 + 100)).toBe('key_busy');
      expect(await store.bulk.retry('op2', 'd1', T0 + 100)).toBe('not_dead');
      expect(await store.bulk.retry('op2', 'nope', T0 + 100)).toBe('not_found');
      expect(await store.read.run('d1')).toMatchObject({ status: 'queued', attempt: 0, availableAt: T0 + 100 });
      expect(await store.read.run('d2')).toMatchObject({ status: 'dead' });
      expect((await store.bulk.deadRuns({}, 100)).map((r) => [r.id, r.doneBy])).toEqual([['d2', null]]);
    });
  });
}
