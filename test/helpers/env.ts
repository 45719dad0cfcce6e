import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.ts';

export const MURO_SECRET = 'muro-test-secret';
export const MERU_SECRET = 'whsec_meru_test_secret';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'hookline-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** A validated config whose files all live in `dir`, with known secrets and logging off. */
export function testConfig(dir: string, overrides: DeepPartial<ConfigInput> = {}): Config {
  const base: ConfigInput = {
    store: { url: `sqlite:${join(dir, 'hookline.db')}` },
    sources: { muro: { secrets: [MURO_SECRET] }, meru: { secrets: [MERU_SECRET] } },
    recipes: join(dir, 'recipes'),
    attachments: join(dir, 'attachments'),
    data_dir: dir,
    log: { level: 'silent' },
    server: { host: '127.0.0.1', port: 0 },
  };
  return configSchema.parse(merge(base, overrides));
}

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out;
}
