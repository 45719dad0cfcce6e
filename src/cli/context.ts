import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { Store } from '../store/types.ts';

/** Which config file a command read, for stderr: a CLI that silently read another file than the server did misleads. */
export function configLabel(loaded: Pick<LoadedConfig, 'file' | 'isExample'>): string {
  return `${loaded.file}${loaded.isExample ? ' (bundled defaults)' : ''}`;
}

/**
 * Opens the configured store for one CLI command and closes it afterwards. Says on stderr which
 * config and store it used (stdout stays the command's output, `--json` included).
 */
export async function withStore<T>(command: Command, fn: (store: Store, loaded: LoadedConfig) => Promise<T>): Promise<T> {
  const loaded = loadConfig({ file: command.optsWithGlobals().config });
  const { openStore, redactUrl } = await import('../store/open.ts');
  console.error(`using config ${configLabel(loaded)}, store ${redactUrl(loaded.config.store.url)}`);
  const store = await openStore(loaded.config.store, { longRunning: false });
  try {
    return await fn(store, loaded);
  } finally {
    await store.close();
  }
}

/** Fixed-width columns for terminal tables. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export const iso = (t: number) => new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
