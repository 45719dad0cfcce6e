// Fresh PostgreSQL state for store tests: a schema of its own per store, chosen by the connection's
// search_path and dropped afterwards (see ../helpers/postgres.ts).
import { openPostgresStore, type PostgresOptions } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/types.ts';
import { startProxy } from './tcp-proxy.ts';
import type { OpenedStore, StoreHarness, UnreliableStore } from './conformance.ts';
import { createSchema, pgUrl, type TestSchema } from '../helpers/postgres.ts';

export { admin, createSchema, howToEnable, pgUrl, urlWithSchema, type TestSchema } from '../helpers/postgres.ts';

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
