import type { Pool, PoolClient } from 'pg';

/** The store's view of its database: the pool, the schema it lives in, and its NOTIFY payloads. */
export interface Db {
  pool: Pool;
  /** current_schema() of the connections: several hookline deployments may share one database. */
  schema: string;
  /** pg_notify payloads for "new events" and "runs due now", see `notice`. */
  wake: { events: string; runs: string };
  /** Wakes the other instances after a commit (see `notifier`). */
  notify?(what: 'events' | 'runs'): void;
}

/**
 * Wakes the other instances once something is committed, outside the transaction that did it: a
 * NOTIFY inside a transaction takes a database-wide lock at its commit, held through its WAL flush,
 * so every notifying commit waits for the one before. Here at most one NOTIFY of a kind is in
 * flight, and at most one every `gapMs`: the wake-ups asked for meanwhile go together in the next.
 * Its commit does not wait for its flush. A wake-up lost (the process dies first) is made up by the
 * others' poll.
 */
export function notifier(pool: Pool, wake: Db['wake'], gapMs = 5): (what: 'events' | 'runs') => void {
  const state = { events: { inFlight: false, again: false }, runs: { inFlight: false, again: false } };
  const send = (what: 'events' | 'runs'): void => {
    const s = state[what];
    if (s.inFlight) {
      s.again = true;
      return;
    }
    s.inFlight = true;
    pool
      .query(`SELECT pg_notify('${channel}', $1) WHERE (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`, [wake[what]])
      .catch(() => {})
      .finally(() => {
        setTimeout(() => {
          s.inFlight = false;
          if (s.again) {
            s.again = false;
            send(what);
          }
        }, gapMs).unref();
      });
  };
  return send;
}

/** LISTEN/NOTIFY channel for wake-ups. Channels are database-wide, so payloads carry the schema. */
export const channel = 'hookline';

/** Payload of a wake-up: `schema:what:instance`; listeners ignore other schemas and their own instance. */
export function notice(schema: string, what: 'events' | 'runs', instance: string): string {
  return `${schema}:${what}:${instance}`;
}

export function parseNotice(payload: string | undefined): { schema: string; what: string; instance: string } | undefined {
  const parts = (payload ?? '').split(':');
  if (parts.length !== 3) return undefined;
  const [schema, what, instance] = parts as [string, string, string];
  return { schema, what, instance };
}

/**
 * A pooled connection for several statements. While it is out of the pool nobody else listens for
 * its errors, and a connection that dies between two statements would raise an uncaught 'error':
 * this listener takes it (the next statement fails; the pool drops the connection on release).
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  client.on('error', ignore);
  return client;
}

/** Hands a connection from `checkout` back; with an error, or `true`, it is closed instead. */
export function checkin(client: PoolClient, discard?: Error | boolean): void {
  client.removeListener('error', ignore);
  client.release(discard);
}

const ignore = () => {};

/**
 * Runs `fn` in a transaction on one pooled connection. A connection whose ROLLBACK fails is broken
 * and is destroyed rather than handed back to the pool.
 */
export async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, options: { flushWait?: boolean } = {}): Promise<T> {
  const client = await checkout(pool);
  try {
    // flushWait false: the commit does not wait for its WAL flush (see noFlushWait in queue.ts).
    await client.query(options.flushWait === false ? 'BEGIN; SET LOCAL synchronous_commit TO off' : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    checkin(client);
    return result;
  } catch (error) {
    await client.query('ROLLBACK').then(
      () => checkin(client),
      (rollbackError: Error) => checkin(client, rollbackError),
    );
    throw error;
  }
}

/** Advisory lock keys: (purpose, hash of the name), so that schemas sharing a database do not block each other. */
const purposes = { migrate: 0x686c0001, dispatch: 0x686c0002, table: 0x686c0003, tickets: 0x686c0004, order: 0x686c0005, prune: 0x686c0006 } as const;

export function lockKey(purpose: keyof typeof purposes, name: string): [number, number] {
  return [purposes[purpose], fnv1a(name)];
}

/** 32-bit FNV-1a of the UTF-8 bytes, as a signed int4. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** SQLSTATE of a driver error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Text columns cannot hold NUL; error messages from the outside world occasionally do. */
export function clean(text: string): string;
export function clean(text: string | null | undefined): string | null;
export function clean(text: string | null | undefined): string | null {
  return text === undefined || text === null ? null : text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

