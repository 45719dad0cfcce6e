import type { CircuitRecord, PausedRecipe, Store } from '../store/types.ts';

/**
 * Pausing and resuming a recipe (PRODUCT §11), shared by the CLI, the admin API and the console.
 * While paused, its runs are created and held (no instance claims them); on resume they run in their
 * order. The pause is a row in the store: it survives restarts and applies to every instance.
 */

export type PauseResult = 'paused' | 'already_paused' | 'resumed' | 'not_paused' | 'not_found';

export const pauseMessages: Record<PauseResult, string> = {
  paused: 'paused: its runs are created and held until it is resumed',
  already_paused: 'was paused already',
  resumed: 'resumed: its held runs run now, in their order',
  not_paused: 'was not paused',
  not_found: 'no recipe of that name is loaded',
};

/** Pauses `recipe` if it is known (`known`: a loaded recipe). Takes the dispatch lock, so no dispatch pass under way starts its runs afterwards. */
export async function pauseRecipe(store: Pick<Store, 'flow' | 'dispatch'>, known: (recipe: string) => boolean, recipe: string, now: number): Promise<PauseResult> {
  if (!known(recipe)) return 'not_found';
  return (await store.dispatch.withLock(() => store.flow.pause(recipe, now))) ? 'paused' : 'already_paused';
}

/** Resumes `recipe`; a paused recipe that is no longer loaded can be resumed too. */
export async function resumeRecipe(store: Pick<Store, 'flow' | 'dispatch'>, known: (recipe: string) => boolean, recipe: string): Promise<PauseResult> {
  if (await store.flow.resume(recipe)) return 'resumed';
  return known(recipe) ? 'not_paused' : 'not_found';
}

/** What the admin API and `hookline flow --json` show of flow control. */
export async function flowJson(store: Pick<Store, 'flow'>) {
  const [paused, circuits, held] = await Promise.all([store.flow.paused(), store.flow.circuits(), store.flow.held()]);
  return { paused: paused.map(pausedJson), circuits: circuits.map(circuitJson), held };
}

export const pausedJson = (p: PausedRecipe) => ({ recipe: p.recipe, paused_at: new Date(p.pausedAt).toISOString(), held_runs: p.held });

export const circuitJson = (c: CircuitRecord) => ({
  connection: c.connection,
  state: c.state,
  failures: c.failures,
  opened_at: c.openedAt === null ? null : new Date(c.openedAt).toISOString(),
  reopen_at: c.state === 'open' && c.reopenAt !== null ? new Date(c.reopenAt).toISOString() : null,
});
