// The store backends a behaviour test runs on: SQLite always, PostgreSQL when HOOKLINE_TEST_PG_URL
// is set (a schema of its own per hookline instance, in the run's database). Without the variable
// the PostgreSQL variant of each suite is listed as skipped, with how to enable it.
import { join } from 'node:path';
import pg from 'pg';
import { describe, it } from 'vitest';
import { createSchema, howToEnable, pgUrl } from './postgres.ts';

export interface FreshStore {
  /** store.url for the instance (or instances) that share this store. */
  url: string;
  /** Plain SQL on the store, whatever the backend: for checks (or set-up) a test makes behind hookline's back. */
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  /** Removes the store (the SQLite file is removed with its folder by the caller). */
  drop(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store whose files (if any) live in `dir`. */
  fresh(dir: string): Promise<FreshStore>;
}

export const sqlite: Backend = {
  name: 'sqlite',
  fresh: async (dir) => {
    const file = join(dir, 'hookline.db');
    return {
      url: `sqlite:${file}`,
      query: async <T>(sql: string, values: unknown[] = []) => {
        const { default: Database } = await import('better-sqlite3');
        // Read-only unless the statement writes (a row set up behind hookline's back).
        const db = new Database(file, { readonly: !/^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql), fileMustExist: true });
        try {
          // SQL written for both backends uses $1, $2 ...; SQLite takes ?1, ?2 ... for the same.
          return db.prepare(sql.replace(/\$(\d+)/g, '?$1')).all(...(values as never[])) as T[];
        } finally {
          db.close();
        }
      },
      drop: async () => {},
    };
  },
};

export const postgres: Backend = {
  name: 'postgres',
  fresh: async () => {
    const schema = await createSchema();
    return {
      url: schema.url,
      query: async <T>(sql: string, values: unknown[] = []) => {
        const client = new pg.Client({ connectionString: schema.url });
        await client.connect();
        try {
          return (await client.query(sql, values)).rows as T[];
        } finally {
          await client.end();
        }
      },
      drop: () => schema.drop(),
    };
  },
};

/** The backends available in this run. */
export const backends: Backend[] = pgUrl ? [sqlite, postgres] : [sqlite];

/**
 * Defines the suite once per available backend, `name [sqlite]`, `name [postgres]`; without
 * PostgreSQL, a skipped `name [postgres]` says how to enable it.
 */
export function describeBackends(name: string, body: (backend: Backend) => void): void {
  for (const backend of backends) describe(`${name} [${backend.name}]`, () => body(backend));
  if (!pgUrl) {
    describe.skip(`${name} [postgres] (${howToEnable})`, () => {
      it('runs on PostgreSQL too', () => {});
    });
  }
}

/** Whether PostgreSQL tests run; suites only PostgreSQL has use it with describe.skipIf. */
export const withPostgres = pgUrl !== undefined;
export { howToEnable, pgUrl };
