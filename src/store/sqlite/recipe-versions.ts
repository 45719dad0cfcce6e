import type Database from 'better-sqlite3';
import type { RecipeVersion, RecipeVersionStore } from '../types.ts';
import type { Writer } from './writer.ts';

export function sqliteRecipeVersions(db: Database.Database, writer: Writer): RecipeVersionStore {
  const insert = db.prepare(`
    INSERT INTO recipe_versions (recipe, hash, file, source, first_used) VALUES (@recipe, @hash, @file, @source, @firstUsed)
    ON CONFLICT DO NOTHING`);
  const get = db.prepare(`SELECT recipe, hash, file, source, first_used FROM recipe_versions WHERE recipe = ? AND hash = ?`);
  const record = db.transaction((v: RecipeVersion) => void insert.run(v));
  return {
    record: (version) => writer.write(() => record(version)),
    get: async (recipe, hash) => {
      const row = get.get(recipe, hash) as { recipe: string; hash: string; file: string; source: string; first_used: number } | undefined;
      return row && { recipe: row.recipe, hash: row.hash, file: row.file, source: row.source, firstUsed: Number(row.first_used) };
    },
  };
}
