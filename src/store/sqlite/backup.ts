import { existsSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { BackupStore } from '../types.ts';

/**
 * SQLite's online backup API (better-sqlite3's db.backup): copies the database page by page while
 * other connections — a running `hookline serve` — keep writing in WAL mode; pages changed during
 * the copy are copied again, so the result is one consistent snapshot.
 */
export function sqliteBackup(db: Database.Database): BackupStore {
  return {
    copyTo: async (file) => {
      if (existsSync(file)) throw new Error(`${file} exists`);
      await db.backup(file);
      return { file, bytes: statSync(file).size };
    },
  };
}
