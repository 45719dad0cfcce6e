import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
 */
export function loadRecipes(dir: string, actions: ActionRegistry, previous: RecipeSet = emptyRecipeSet): RecipeSet {
  const recipes = new Map<string, CompiledRecipe>();
  const diagnostics: Diagnostic[] = [];
  const refused: string[] = [];
  const previousByFile = new Map([...previous.recipes.values()].map((r) => [r.file, r]));

  for (const file of recipeFiles(dir)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      diagnostics.push({ file, line: 1, col: 1, message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const result = compileRecipe(file, text, actions);
    let recipe = result.recipe;
    if (!recipe) {
      diagnostics.push(...result.diagnostics);
      refused.push(file);
      recipe = previousByFile.get(file);
      if (!recipe) continue;
    }
    const clash = recipes.get(recipe.name);
    if (clash) {
      diagnostics.push({ file, line: 1, col: 1, message: `recipe name "${recipe.name}" is already used by ${clash.file}` });
      refused.push(file);
      continue;
    }
    recipes.set(recipe.name, recipe);
  }
  return { recipes, diagnostics, refused };
}

/** Whether two sets run the same recipes (same files, same text). */
export function sameRecipes(a: RecipeSet, b: RecipeSet): boolean {
  if (a.recipes.size !== b.recipes.size) return false;
  for (const [name, r] of a.recipes) if (b.recipes.get(name)?.hash !== r.hash) return false;
  return true;
}
