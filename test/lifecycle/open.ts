// Opens a hookline store on a fresh backend (SQLite file or PostgreSQL schema) for lifecycle tests.
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import type { Backend, FreshStore } from '../helpers/backends.ts';

export async function openFresh(backend: Backend, dir: string): Promise<{ store: Store; fresh: FreshStore; close(): Promise<void> }> {
  const fresh = await backend.fresh(dir);
  const store = await openStore({ url: fresh.url, synchronous: 'normal', pool_size: 4, statement_timeout: 5_000 } as never, { longRunning: false });
  return {
    store,
    fresh,
    close: async () => {
      await store.close();
      await fresh.drop();
    },
  };
}

/** Every row of every table of the store, as text: what "nothing of it remains anywhere" is checked against. */
export async function everyTableText(backend: Backend, fresh: FreshStore): Promise<Map<string, string>> {
  const tables =
    backend.name === 'sqlite'
      ? (await fresh.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)).map((t) => t.name)
      : (await fresh.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)).map((t) => t.name);
  const out = new Map<string, string>();
  for (const table of tables) out.set(table, JSON.stringify(await fresh.query(`SELECT * FROM "${table}"`)).toLowerCase());
  return out;
}
