import { laneAt, type CompiledRecipe } from './compile.ts';
import { describeJsonataError, type Bindings } from './expressions.ts';
import { truthy } from './view.ts';

/**
 * Whether a recipe starts a run for an event its `on` matches: its `if` holds. Then its `key` (at
 * most one live run per value) and the lane of its first step. An `if` or `key` that fails to
 * evaluate starts a run that is dead at once, so that operators see the error in dead letters.
 */
export type Trigger = { start: false } | { start: true; key: string | undefined; lane: string | undefined } | { start: true; error: string };

export async function evaluateTrigger(recipe: CompiledRecipe, view: Record<string, unknown>, bindings: Bindings): Promise<Trigger> {
  let stage: 'if' | 'key' = 'if';
  try {
    if (recipe.if && !truthy(await recipe.if.evaluate(view, bindings))) return { start: false };
    stage = 'key';
    const lane = laneAt(recipe, 0) ?? undefined;
    if (!recipe.key) return { start: true, key: undefined, lane };
    const key = await recipe.key.evaluate(view, bindings);
    if (key === undefined || key === null || typeof key === 'object') {
      throw new Error(`evaluated to ${key === undefined ? 'nothing' : JSON.stringify(key)}; a key must be a string or number`);
    }
    return { start: true, key: String(key), lane };
  } catch (error) {
    const source = stage === 'if' ? recipe.if?.source : recipe.key?.source;
    return { start: true, error: `recipe ${recipe.name}: ${stage} expression "${source}" failed: ${describeJsonataError(error)}` };
  }
}
