// Vitest global setup: with HOOKLINE_TEST_PG_URL, every PostgreSQL test of this run works in a
// database created for the run (each store or hookline instance then takes a schema of its own in
// it), dropped at the end. An unreachable server fails the run at once instead of skipping: whoever
// set the variable wants those tests. Without the variable, the PostgreSQL tests are skipped and say so.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

const prefix = 'hookline_test_';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.HOOKLINE_TEST_PG_URL;
  if (!given) {
    project.provide('pgUrl', undefined);
    console.warn('PostgreSQL tests skipped: set HOOKLINE_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run them');
    return;
  }
  const server = new pg.Client({ connectionString: given, connectionTimeoutMillis: 5_000 });
  try {
    await server.connect();
  } catch (error) {
    throw new Error(`HOOKLINE_TEST_PG_URL is set but PostgreSQL cannot be reached at ${describe(given)}: ${(error as Error).message}. Start it, or unset the variable to skip the PostgreSQL tests.`);
  }
  let url = given;
  let drop: (() => Promise<void>) | undefined;
  try {
    await dropLeftovers(server);
    const name = `${prefix}${process.pid}_${randomBytes(3).toString('hex')}`;
    await server.query(`CREATE DATABASE ${name}`);
    const u = new URL(given);
    u.pathname = `/${name}`;
    url = u.toString();
    drop = async () => {
      const c = new pg.Client({ connectionString: given });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    };
  } catch (error) {
    // No CREATEDB privilege: work in the given database, a schema per store as before.
    console.warn(`PostgreSQL tests use ${describe(given)} itself (cannot create a database for the run: ${(error as Error).message})`);
  } finally {
    await server.end();
  }
  process.env.HOOKLINE_TEST_PG_URL = url;
  project.provide('pgUrl', url);
  return async () => {
    await drop?.();
  };
}

/** Databases of earlier runs whose process is gone (a run killed before its teardown). */
async function dropLeftovers(server: pg.Client): Promise<void> {
  const { rows } = await server.query<{ name: string }>(`SELECT datname AS name FROM pg_database WHERE datname LIKE '${prefix}%'`);
  for (const { name } of rows) {
    const pid = Number(/^hookline_test_(\d+)_/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** host:port/database, never the password. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}
