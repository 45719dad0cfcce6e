// Runs in a worker thread: copies the WAL back into the database file (a checkpoint, which fsyncs)
// on its own connection, so the event loop that acknowledges webhooks never waits for the disk.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');

const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
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
