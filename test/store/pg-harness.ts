// Fresh PostgreSQL state for store tests: a schema of its own per store, chosen by the connection's
// search_path and dropped afterwards. Reads HOOKLINE_TEST_PG_URL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore, type PostgresOptions } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/types.ts';
import { startProxy } from './tcp-proxy.ts';
import type { OpenedStore, StoreHarness, UnreliableStore } from './conformance.ts';

export const pgUrl = process.env.HOOKLINE_TEST_PG_URL;
export const howToEnable = 'set HOOKLINE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run the PostgreSQL store tests';

/** The URL with search_path set to `schema` (kept alongside any options the URL already has). */
export function urlWithSchema(url: string, schema: string, params: Record<string, string> = {}): string {
  const u = new URL(url);
  const options = u.searchParams.get('options');
  u.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

export interface TestSchema {
  name: string;
  /** A URL whose connections live in this schema. */
  url: string;
  drop(): Promise<void>;
}

let counter = 0;

/** Creates an empty schema; `drop` removes it with everything in it. */
export async function createSchema(url = pgUrl!): Promise<TestSchema> {
  const name = `hl_test_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  await admin(url, `CREATE SCHEMA ${name}`);
  return {
    name,
    url: urlWithSchema(url, name),
    drop: async () => {
      await admin(url, `DROP SCHEMA IF EXISTS ${name} CASCADE`);
    },
  };
}

/** One statement on a connection of its own. */
export async function admin<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

export async function openInSchema(options: PostgresOptions = {}): Promise<OpenedStore & { schema: TestSchema }> {
  const schema = await createSchema();
  let store: Store;
  try {
    store = await openPostgresStore(schema.url, options);
  } catch (error) {
    await schema.drop();
    throw error;
  }
  return {
    store,
    schema,
    cleanup: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

export const postgresHarness: StoreHarness = {
  open: () => openInSchema(),
  // The store reaches the database through a TCP proxy that the test can cut.
  openUnreliable: async (): Promise<UnreliableStore> => {
    const target = new URL(pgUrl!);
    const proxy = await startProxy(target.hostname, Number(target.port || 5432));
    const schema = await createSchema();
    const via = new URL(schema.url);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    const store = await openPostgresStore(via.toString(), { statementTimeoutMs: 2_000 });
    return {
      store,
      outage: async () => proxy.down(),
      recover: async () => proxy.up(),
      cleanup: async () => {
        proxy.up();
        await store.close();
        await proxy.close();
        await schema.drop();
      },
    };
  },
};
