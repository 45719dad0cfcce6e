import { httpAction } from './http.ts';
import { logAction } from './log.ts';
import { storeAction } from './store.ts';
import type { ActionDefinition } from './types.ts';

/** Every action a recipe step can name, by its step key. */
export const builtinActions: readonly ActionDefinition[] = [logAction, storeAction, httpAction];

export type ActionRegistry = ReadonlyMap<string, ActionDefinition>;

export function actionRegistry(actions: readonly ActionDefinition[] = builtinActions): ActionRegistry {
  return new Map(actions.map((a) => [a.name, a]));
}
