import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../errors.ts';
import type { Store } from '../types.ts';
import { sqliteBackup } from './backup.ts';
import { sqliteConversations } from './conversations.ts';
import { sqliteErasure } from './erasure.ts';
import { sqliteExports } from './exports.ts';
import { sqliteDispatch } from './dispatch.ts';
import { sqliteInbox } from './inbox.ts';
import { prepareNewFile, sqliteLifecycle } from './lifecycle.ts';
import { migrate } from './migrations.ts';
import { sqliteOperations } from './operations.ts';
import { sqliteFlow } from './flow.ts';
import { sqliteQueue } from './queue.ts';
import { sqliteReadModel } from './read-model.ts';
import { sqliteTables } from './tables.ts';
import { sqliteTickets } from './tickets.ts';
import { sqliteWaits } from './waits.ts';
import { sqliteBulk } from './bulk.ts';
import { sqliteRecipeVersions } from './recipe-versions.ts';
import { sqliteSchedules } from './schedules.ts';
import { groupCommit } from './writer.ts';

export interface SqliteOptions {
  /** normal: committed transactions survive a process crash; full: also a power loss (fsync per commit). */
  synchronous?: 'normal' | 'full';
  /** Checkpoint the WAL from a worker thread (a long-running server); off for short CLI commands. */
  backgroundCheckpoints?: boolean;
}

export function openSqliteStore(file: string, options: SqliteOptions = {}): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  prepareNewFile(db); // before WAL mode writes the file's first page
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // Short: better-sqlite3 waits synchronously, and a blocked event loop stalls every request.
  db.pragma('busy_timeout = 2000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const checkpointer = file === ':memory:' || options.backgroundCheckpoints === false ? undefined : startCheckpointer(db, file);

  const writer = groupCommit(db);
  const inbox = sqliteInbox(db, writer);
  const { record, ...ticketReads } = sqliteTickets(db);
  const { insert, ...tableReads } = sqliteTables(db);
  // A write, not only a query: a full disk or a read-only file answers SELECT 1 but refuses writes.
  const probe = db.prepare('UPDATE store_probe SET writes = writes + 1 WHERE id = 1');
  return {
    kind: 'sqlite',
    inbox: {
      ...inbox,
      receive: (event, ttl) => inbox.receive(event, ttl).catch((cause: unknown) => {
        throw new StoreUnavailableError(`SQLite cannot write ${file}: ${(cause as Error).message}`, { cause });
      }),
    },
    dispatch: sqliteDispatch(db, writer),
    flow: sqliteFlow(db, writer),
    queue: sqliteQueue(db, writer),
    waits: sqliteWaits(db, writer),
    read: { ...sqliteReadModel(db), ...ticketReads, ...tableReads },
    operations: sqliteOperations(db),
    records: { conversations: sqliteConversations(db), tickets: { record }, tables: { insert } },
    erasure: sqliteErasure(db, writer),
    exports: sqliteExports(db),
    backup: sqliteBackup(db),
    lifecycle: sqliteLifecycle(db, writer, file),
    versions: sqliteRecipeVersions(db, writer),
    bulk: sqliteBulk(db, writer),
    schedules: sqliteSchedules(db, writer),
    subscribe: () => () => {},
    ping: async () => {
      probe.run();
    },
    close: async () => {
      await checkpointer?.stop();
      if (db.open) db.close();
    },
  };
}

/**
 * SQLite's automatic checkpoint runs inside whichever commit crosses the threshold and fsyncs there,
 * stalling the event loop for milliseconds. It is turned off here and done by a worker thread instead.
 */
function startCheckpointer(db: Database.Database, file: string) {
  db.pragma('wal_autocheckpoint = 0');
  // checkpoint-worker.ts in a checkout, .js in the installed package (dist/), where a .ts would not load.
  const worker = new Worker(new URL(`./checkpoint-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: { file, intervalMs: 1000 } });
  worker.unref();
  worker.on('error', () => db.pragma('wal_autocheckpoint = 1000')); // fall back to SQLite's own
  let exited = false;
  worker.once('exit', () => (exited = true));
  return {
    // ref(): an unref'd worker's exit is never awaited when nothing else keeps the process alive,
    // and close() would never settle (a script's top-level await would end the process with 13).
    stop: () =>
      exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.ref();
            worker.postMessage('stop');
          }),
  };
}
