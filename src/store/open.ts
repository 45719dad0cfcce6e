import type { Config } from '../config/schema.ts';
import { redactUrl } from '../observability/redact.ts';
import type { Store } from './types.ts';

/** Chooses the backend from the store URL: sqlite:<file> or postgres://... Only that backend's driver is loaded. */
export async function openStore(config: Config['store'], options: { longRunning?: boolean } = {}): Promise<Store> {
  if (config.url.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite/index.ts');
    return openSqliteStore(config.url.slice('sqlite:'.length), { synchronous: config.synchronous, backgroundCheckpoints: options.longRunning ?? true });
  }
  if (/^postgres(ql)?:\/\//.test(config.url)) {
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore(config.url, { poolSize: config.pool_size, statementTimeoutMs: config.statement_timeout });
  }
  throw new Error(`store.url ${redactUrl(config.url)}: expected sqlite:<file> or postgres://user:pw@host:5432/db`);
}

/** Kept here for callers that import it from the store (one implementation, in redact.ts). */
export { redactUrl };
