import { existsSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { BackupStore } from '../types.ts';

/**
 * SQLite's online backup API (better-sqlite3's db.backup) while other connections — a running
 * `hookline serve` — keep writing in WAL mode. All pages are copied in one step, that is in one read
 * transaction: one consistent snapshot, and writers are not blocked (WAL readers never block them).
 * Copied a few pages at a time instead (the default, 100 per step), a write by another process
 * between two steps restarts the copy from the beginning, and under steady traffic a large store's
 * backup would never finish.
 */
export function sqliteBackup(db: Database.Database): BackupStore {
  return {
    copyTo: async (file) => {
      if (existsSync(file)) throw new Error(`${file} exists`);
      await db.backup(file, { progress: () => 0x7fffffff });
      return { file, bytes: statSync(file).size };
    },
  };
}
