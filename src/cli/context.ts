import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { Store } from '../store/types.ts';

/** Opens the configured store for one CLI command and closes it afterwards. */
export async function withStore<T>(command: Command, fn: (store: Store, loaded: LoadedConfig) => Promise<T>): Promise<T> {
  const loaded = loadConfig({ file: command.optsWithGlobals().config });
  const { openStore } = await import('../store/open.ts');
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
