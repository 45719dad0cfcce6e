import type { RecipeVersionStore } from '../types.ts';
import type { Db } from './db.ts';

export function postgresRecipeVersions(db: Db): RecipeVersionStore {
  return {
    record: async (v) => {
      await db.pool.query(
        `INSERT INTO recipe_versions (recipe, hash, file, source, first_used) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [v.recipe, v.hash, v.file, v.source, v.firstUsed],
      );
    },
    get: async (recipe, hash) => {
      const { rows } = await db.pool.query<{ recipe: string; hash: string; file: string; source: string; first_used: number }>(
        `SELECT recipe, hash, file, source, first_used FROM recipe_versions WHERE recipe = $1 AND hash = $2`,
        [recipe, hash],
      );
      const row = rows[0];
      return row && { recipe: row.recipe, hash: row.hash, file: row.file, source: row.source, firstUsed: Number(row.first_used) };
    },
  };
}
