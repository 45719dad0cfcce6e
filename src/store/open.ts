import type { Config } from '../config/schema.ts';
import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

/** Chooses the backend from the store URL: sqlite:<file> or postgres://... */
export async function openStore(config: Config['store'], options: { longRunning?: boolean } = {}): Promise<Store> {
  if (config.url.startsWith('sqlite:')) {
    return openSqliteStore(config.url.slice('sqlite:'.length), { synchronous: config.synchronous, backgroundCheckpoints: options.longRunning ?? true });
  }
  throw new Error(`store.url ${redactUrl(config.url)}: PostgreSQL support is not built yet`);
}

/** A store URL fit for logs: the password replaced. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
