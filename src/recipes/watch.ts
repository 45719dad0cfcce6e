import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import type { ActionRegistry } from '../actions/registry.ts';
import { formatDiagnostic } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { loadRecipes, sameRecipes, type RecipeSet } from './load.ts';

/**
 * Hot reload: a changed, added or removed recipe file is applied without restart. A file with
 * problems is logged and its previous valid version keeps running.
 */
export function watchRecipes(
  dir: string,
  actions: ActionRegistry,
  current: () => RecipeSet,
  apply: (set: RecipeSet) => void,
  logger: Logger,
): { close(): void; reload(): RecipeSet } {
  mkdirSync(dir, { recursive: true });
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    const next = loadRecipes(dir, actions, current());
    for (const d of next.diagnostics) logger.error({ file: d.file, line: d.line, col: d.col }, `recipe refused: ${formatDiagnostic(d)}`);
    if (!sameRecipes(next, current()) || next.diagnostics.length > 0) {
      logger.info({ recipes: [...next.recipes.keys()], refused: next.refused }, 'recipes reloaded');
    }
    apply(next);
    return next;
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      // Editors write files in several steps (truncate, write, rename): settle first.
      clearTimeout(timer);
      timer = setTimeout(reload, 150);
    });
    watcher.unref();
  } catch (error) {
    logger.warn({ dir, error: (error as Error).message }, 'cannot watch the recipes folder; changes need a restart');
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
    reload,
  };
}
