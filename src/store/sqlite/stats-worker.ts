// Runs in a worker thread: computes the store's stats (every table counted, dbstat read) on a
// read-only connection of its own, so that the process's event loop is not held by it.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { sqliteStatsOf } from './stats.ts';

const { file } = workerData as { file: string };
try {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    parentPort?.postMessage({ stats: sqliteStatsOf(db) });
  } finally {
    db.close();
  }
} catch (error) {
  parentPort?.postMessage({ error: (error as Error).message });
}
