import type { ActionRegistry } from '../actions/registry.ts';
import type { RecipeVersionStore } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { compileRecipe, type CompiledRecipe } from './compile.ts';
import type { RecipeSet } from './load.ts';

/**
 * A run keeps the recipe version it started with. Dispatch records each version's source the first
 * time a run starts with it (recipe_versions); the engine and the wait matching then ask for the
 * run's version: the one in force when the hash is the same, else the recorded source compiled again
 * (and kept in memory). A recipe that is no longer loaded at all stays gone: its runs end as before.
 */
export class RecipeVersions {
  private readonly recorded = new Set<string>();
  private readonly compiled = new Map<string, Promise<CompiledRecipe | undefined>>();
  private readonly deps: { store: RecipeVersionStore; actions: ActionRegistry; recipes: () => RecipeSet; clock: Clock };

  constructor(deps: { store: RecipeVersionStore; actions: ActionRegistry; recipes: () => RecipeSet; clock: Clock }) {
    this.deps = deps;
  }

  /** Keeps the version's source before a run that starts with it is stored (once per process and version). */
  async record(recipe: CompiledRecipe): Promise<void> {
    const id = `${recipe.name}@${recipe.hash}`;
    if (this.recorded.has(id)) return;
    await this.deps.store.record({ recipe: recipe.name, hash: recipe.hash, file: recipe.file, source: recipe.text, firstUsed: this.deps.clock.now() });
    this.recorded.add(id);
  }

  /** The recipe as the run started it; undefined when the recipe is no longer loaded. */
  async of(name: string, hash: string | null): Promise<CompiledRecipe | undefined> {
    const current = this.deps.recipes().recipes.get(name);
    if (!current || hash === null || current.hash === hash) return current;
    const id = `${name}@${hash}`;
    let found = this.compiled.get(id);
    if (!found) {
      found = this.load(name, hash);
      this.compiled.set(id, found);
      // A failed read is not remembered: the next execution asks again.
      found.catch(() => this.compiled.delete(id));
    }
    return (await found) ?? current;
  }

  private async load(name: string, hash: string): Promise<CompiledRecipe | undefined> {
    const version = await this.deps.store.get(name, hash);
    if (!version) return undefined;
    // The same compiler as at load; a version that compiled then compiles now (the actions are the same).
    return compileRecipe(version.file, version.source, this.deps.actions).recipe;
  }
}
