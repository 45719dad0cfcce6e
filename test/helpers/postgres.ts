// Fresh PostgreSQL state for tests: a schema of its own per store (or per hookline instance), chosen
// by the connection's search_path and dropped afterwards. The database comes from
// HOOKLINE_TEST_PG_URL, which the global setup (pg-global-setup.ts) points at a database created for
// the run.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';

/** The run's database, or undefined when PostgreSQL tests are off. */
export const pgUrl: string | undefined = inject('pgUrl') ?? process.env.HOOKLINE_TEST_PG_URL;
export const howToEnable = 'set HOOKLINE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run the PostgreSQL tests';

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

declare module 'vitest' {
  export interface ProvidedContext {
    /** The database created for this run (pg-global-setup.ts); undefined without HOOKLINE_TEST_PG_URL. */
    pgUrl: string | undefined;
  }
}
