// Runs in a worker thread: copies the WAL back into the database file (a checkpoint, which fsyncs)
// on its own connection, so the event loop that acknowledges webhooks never waits for the disk.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs, walLimitBytes = 64 * 2 ** 20 } = workerData as { file: string; intervalMs: number; walLimitBytes?: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// Under a steady stream a passive checkpoint never catches up with the writer, SQLite never starts
// the WAL over, and the file only grows (600 MB beside a 13 MB database at 100 events/s). Past this
// size a TRUNCATE checkpoint is tried when no write is under way (it never waits for one): the
// frames left after the passive one are few, so the writer it holds up waits a moment at most.

const walSize = () => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    if (walSize() > walLimitBytes) {
      db.pragma('busy_timeout = 0');
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // busy: a write is under way; the next interval tries again
      } finally {
        db.pragma('busy_timeout = 5000');
      }
    }
  } catch (error) {
    parentPort?.postMessage({ error: (error as Error).message });
  }
};
const timer = setInterval(checkpoint, intervalMs);
parentPort?.on('message', (message: string) => {
  if (message === 'stop') {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort?.close();
  }
});
