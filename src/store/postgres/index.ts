import { randomBytes } from 'node:crypto';
import { Pool, TypeOverrides, type PoolConfig } from 'pg';
import { StoreUnavailableError } from '../../errors.ts';
import type { Store, Wake } from '../types.ts';
import { postgresConversations } from './conversations.ts';
import { notice, notifier, type Db } from './db.ts';
import { postgresDispatch } from './dispatch.ts';
import { postgresErasure } from './erasure.ts';
import { postgresExports } from './exports.ts';
import { postgresInbox } from './inbox.ts';
import { postgresLifecycle } from './lifecycle.ts';
import { listen, type Listener } from './listen.ts';
import { migrate } from './migrations.ts';
import { postgresOperations } from './operations.ts';
import { postgresFlow } from './flow.ts';
import { postgresQueue } from './queue.ts';
import { postgresReadModel } from './read-model.ts';
import { postgresTables } from './tables.ts';
import { postgresTickets } from './tickets.ts';
import { postgresWaits } from './waits.ts';
import { postgresBulk } from './bulk.ts';
import { postgresRecipeVersions } from './recipe-versions.ts';
import { postgresSchedules } from './schedules.ts';

export interface PostgresOptions {
  /** Connections per instance (store.pool_size); one more is kept for the dispatch lock, one for LISTEN. */
  poolSize?: number;
  /** Longest a statement may run (store.statement_timeout). */
  statementTimeoutMs?: number;
}

/**
 * Opens the store in the first existing schema of the connection's search_path (set it with
 * `?options=-c%20search_path%3Dname` to give each deployment its own) and migrates it.
 * Rejects if the database cannot be reached.
 */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<Store> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
  const poolSize = options.poolSize ?? 10;
  const types = new TypeOverrides();
  // bigint columns hold epoch milliseconds, seqs and counts: all exact in a double.
  types.setTypeParser(20, Number);
  const base: PoolConfig = {
    connectionString: url,
    types,
    keepAlive: true,
    connectionTimeoutMillis: Math.max(statementTimeoutMs, 2_000),
    application_name: 'hookline',
  };
  const pool = new Pool({
    ...base,
    max: poolSize,
    statement_timeout: statementTimeoutMs,
    // A connection whose server went silent (network cut) is abandoned instead of waited on forever.
    query_timeout: statementTimeoutMs + 1_000,
    // A transaction of hookline's left open would hold its locks and connection: bound it.
    idle_in_transaction_session_timeout: Math.max(10_000, 2 * statementTimeoutMs),
  });
  // An idle connection died (server restart, terminated backend): the pool drops it and connects
  // again on demand. Without a listener the error would end the process.
  pool.on('error', () => {});
  // Waiting for the dispatch lock may take longer than any statement: no timeouts on this one.
  const lockPool = new Pool({ ...base, max: 1, application_name: 'hookline-lock' });
  lockPool.on('error', () => {});
  const where = describeUrl(url);

  let schema: string;
  try {
    const { rows } = await pool.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    if (!rows[0]?.schema) throw new Error('the search_path names no existing schema to create the tables in');
    schema = rows[0].schema;
    await migrate(pool, schema);
  } catch (error) {
    await Promise.allSettled([pool.end(), lockPool.end()]);
    throw new Error(`PostgreSQL at ${where}: ${(error as Error).message}`, { cause: error });
  }

  const instance = randomBytes(6).toString('hex');
  const wakes = { events: notice(schema, 'events', instance), runs: notice(schema, 'runs', instance) };
  const db: Db = { pool, schema, wake: wakes, notify: notifier(pool, wakes) };
  // Group commit works best with few statements in flight: each batch is then larger, and commits
  // (WAL flush, the NOTIFY queue lock) do not queue behind one another. Measured with 50 concurrent
  // receives on one local server: 1 in flight 13.8k/s, 2 9.5k/s, 5 6.5k/s, 10 3.6k/s; one receive
  // per statement 1.5k/s. Two, so that a batch waiting on a lock (another instance storing the same
  // id) does not hold up every other receive; the rest of the pool stays free for the workers.
  const inbox = postgresInbox(db, { maxInFlight: Math.min(2, poolSize), budgetMs: statementTimeoutMs + 1_000 });

  const { record, ...ticketReads } = postgresTickets(db);
  const { insert, ...tableReads } = postgresTables(db);
  const listeners = new Set<(what: Wake) => void>();
  let listener: Listener | undefined;
  const wake = (what: Wake) => {
    for (const fn of listeners) {
      try {
        fn(what);
      } catch {
        // A listener's failure is its own; the others still hear.
      }
    }
  };
  let closing: Promise<void> | undefined;

  return {
    kind: 'postgres',
    inbox: {
      ...inbox,
      receive: (event, ttl) =>
        inbox.receive(event, ttl).catch((cause: unknown) => {
          throw new StoreUnavailableError(`PostgreSQL at ${where} cannot store the event: ${(cause as Error).message}`, { cause });
        }),
    },
    dispatch: postgresDispatch(db, lockPool),
    flow: postgresFlow(db),
    queue: postgresQueue(db, { maxInFlight: Math.min(2, poolSize) }),
    waits: postgresWaits(db),
    read: { ...postgresReadModel(db), ...ticketReads, ...tableReads },
    operations: postgresOperations(db),
    versions: postgresRecipeVersions(db),
    bulk: postgresBulk(db),
    schedules: postgresSchedules(db),
    records: { conversations: postgresConversations(db), tickets: { record }, tables: { insert } },
    erasure: postgresErasure(db),
    exports: postgresExports(db),
    lifecycle: postgresLifecycle(db),
    subscribe: (fn) => {
      listeners.add(fn);
      if (!listener && !closing) listener = listen({ ...base, application_name: 'hookline-listen' }, schema, instance, wake);
      return () => {
        listeners.delete(fn);
      };
    },
    // A write, not only a query: a server that went read-only (a failover, a full disk) still answers SELECT 1.
    ping: async () => {
      await pool.query('UPDATE store_probe SET writes = writes + 1 WHERE id = 1');
    },
    describe: () => ({
      address: where,
      schema,
      statement_timeout_ms: statementTimeoutMs,
      // Connections of the main pool (the dispatch lock and LISTEN have one each besides).
      pool: { max: poolSize, open: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    }),
    close: () =>
      (closing ??= (async () => {
        listeners.clear();
        await listener?.close();
        await Promise.allSettled([pool.end(), lockPool.end()]);
      })()),
  };
}

/** host:port/database, for messages: never the password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}
