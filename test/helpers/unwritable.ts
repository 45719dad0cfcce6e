// A store that can be made to refuse writes while it still answers reads: the outage a full disk,
// a read-only file system or a failover to a standby cause. SQLite: another connection holds the
// write lock (hookline's writes fail after busy_timeout). PostgreSQL: hookline connects as a role of
// its own whose sessions are switched to read-only transactions (its connections are cut, so the
// pool reconnects into the new setting).
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Backend, FreshStore } from './backends.ts';
import { admin, pgUrl } from './postgres.ts';

export interface WriteSwitch {
  /** Use this as the test's backend: its fresh store is the one the switch acts on. */
  backend: Backend;
  refuseWrites(): Promise<void>;
  allowWrites(): Promise<void>;
}

export function writeSwitch(backend: Backend): WriteSwitch {
  let refuse = async () => {};
  let allow = async () => {};
  const wrapped: Backend = {
    name: backend.name,
    fresh: async (dir) => {
      const db = await backend.fresh(dir);
      return backend.name === 'sqlite' ? sqliteSwitch(db) : postgresSwitch(db);
    },
  };

  function sqliteSwitch(db: FreshStore): FreshStore {
    const file = db.url.slice('sqlite:'.length);
    let blocker: Database.Database | undefined;
    refuse = async () => {
      blocker ??= new Database(file);
      if (!blocker.inTransaction) blocker.exec('BEGIN IMMEDIATE');
    };
    allow = async () => {
      if (blocker?.inTransaction) blocker.exec('ROLLBACK');
    };
    return {
      ...db,
      drop: async () => {
        await allow();
        blocker?.close();
        await db.drop();
      },
    };
  }

  async function postgresSwitch(db: FreshStore): Promise<FreshStore> {
    const role = `hl_test_rw_${randomBytes(4).toString('hex')}`;
    await admin(pgUrl!, `CREATE ROLE ${role} LOGIN SUPERUSER`);
    const url = new URL(db.url);
    url.username = role;
    const cut = () => admin(pgUrl!, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
    refuse = async () => {
      await admin(pgUrl!, `ALTER ROLE ${role} SET default_transaction_read_only = on`);
      await cut();
    };
    allow = async () => {
      await admin(pgUrl!, `ALTER ROLE ${role} RESET default_transaction_read_only`);
      await cut();
    };
    return {
      ...db,
      url: url.toString(),
      drop: async () => {
        await cut();
        await db.drop();
        await admin(pgUrl!, `DROP ROLE IF EXISTS ${role}`);
      },
    };
  }

  return { backend: wrapped, refuseWrites: () => refuse(), allowWrites: () => allow() };
}
