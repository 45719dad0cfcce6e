import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { ActionRegistry } from '../actions/registry.ts';
import type { Diagnostic } from '../errors.ts';
import { compileRecipe, type CompiledRecipe } from './compile.ts';

export interface RecipeSet {
  /** The recipes in force, by name. */
  recipes: ReadonlyMap<string, CompiledRecipe>;
  /** Problems of the files that were refused (a refused file keeps its previous valid version, if any). */
  diagnostics: Diagnostic[];
  /** Files refused in this load. */
  refused: string[];
}

export const emptyRecipeSet: RecipeSet = { recipes: new Map(), diagnostics: [], refused: [] };

export function recipeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Loads every *.yaml / *.yml file in the folder, one recipe per file. A file with problems is refused
 * as a whole; when `previous` had a valid version of it, that version stays in force (hot reload).
 * Two files that declare the same name: see `nameOwner` for which one keeps it.
 */
export function loadRecipes(dir: string, actions: ActionRegistry, previous: RecipeSet = emptyRecipeSet): RecipeSet {
  const diagnostics: Diagnostic[] = [];
  const refused: string[] = [];
  const previousByFile = new Map([...previous.recipes.values()].map((r) => [r.file, r]));

  // Each readable file's candidate: its new version, or its previous valid one when the new one is refused.
  const candidates: CompiledRecipe[] = [];
  for (const file of recipeFiles(dir)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      diagnostics.push({ file, line: 1, col: 1, message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const result = compileRecipe(file, text, actions);
    const recipe = result.recipe ?? previousByFile.get(file);
    if (!result.recipe) {
      diagnostics.push(...result.diagnostics);
      refused.push(file);
    }
    if (recipe) candidates.push(recipe);
  }

  const recipes = new Map<string, CompiledRecipe>();
  for (const [name, claims] of Map.groupBy(candidates, (r) => r.name)) {
    const owner = nameOwner(name, claims, previous);
    recipes.set(name, owner);
    for (const loser of claims.filter((r) => r !== owner)) {
      diagnostics.push({ file: loser.file, line: 1, col: 1, message: `recipe name "${name}" is already used by ${owner.file}, which keeps it; rename one of them (name: in either file)` });
      if (!refused.includes(loser.file)) refused.push(loser.file);
      // A refused newcomer that ran before under a free name keeps that version, as for any refused change.
      const before = previousByFile.get(loser.file);
      if (before && before !== loser && !candidates.some((r) => r.name === before.name)) recipes.set(before.name, before);
    }
  }
  return { recipes, diagnostics, refused };
}

/**
 * Which of several files declaring the same recipe name keeps it: the one already running it (so a
 * new file can never take over a running recipe); at startup, when none runs it yet, the file named
 * after the recipe (`<name>.yaml`), else the file whose name sorts first. The others are refused.
 */
function nameOwner(name: string, claims: CompiledRecipe[], previous: RecipeSet): CompiledRecipe {
  const running = previous.recipes.get(name)?.file;
  return (
    claims.find((r) => r.file === running) ??
    claims.find((r) => basename(r.file, extname(r.file)) === name) ??
    claims[0]!
  );
}

/** Whether two sets run the same recipes (same files, same text). */
export function sameRecipes(a: RecipeSet, b: RecipeSet): boolean {
  if (a.recipes.size !== b.recipes.size) return false;
  for (const [name, r] of a.recipes) if (b.recipes.get(name)?.hash !== r.hash) return false;
  return true;
}
