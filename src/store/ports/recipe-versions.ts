/**
 * Recipe versions: the source of every recipe version a run started with, by (recipe, hash), so
 * that a worker — even after a restart, on another instance — continues an old run with its old
 * steps when the file changed mid-run.
 */

export interface RecipeVersion {
  recipe: string;
  /** The compiled version's hash (CompiledRecipe.hash). */
  hash: string;
  /** The file it was loaded from (for error positions when it is compiled again). */
  file: string;
  /** The file's text. */
  source: string;
  firstUsed: number;
}

export interface RecipeVersionStore {
  /** Keeps a version; one already kept is left as it is. */
  record(version: RecipeVersion): Promise<void>;
  get(recipe: string, hash: string): Promise<RecipeVersion | undefined>;
}
