import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { manualClock } from '../../src/util/clock.ts';
import { sqlite, type Backend, type FreshStore } from './backends.ts';
import { tempDir, testConfig } from './env.ts';

export const shippedRecipes = fileURLToPath(new URL('../../recipes/', import.meta.url));
const sources = fileURLToPath(new URL('../../src/sources/', import.meta.url));

/** A sample event (`muro/conversation.opened`: the fixtures hookline was built from), parsed, optionally changed. */
export function sample(name: string, change: (event: any) => void = () => {}): Record<string, any> {
  const slash = name.indexOf('/');
  const event = JSON.parse(readFileSync(join(sources, name.slice(0, slash), 'samples', `${name.slice(slash + 1)}.json`), 'utf8'));
  change(event);
  return event;
}

export interface Integration {
  hl: Hookline;
  dir: string;
  clock: ReturnType<typeof manualClock>;
  /** The store it runs on, for checks behind its back. */
  db: FreshStore;
  stop(): Promise<void>;
}

/**
 * hookline in-process with the shipped recipes (copied, unchanged), the worker driven by the test
 * (drain) and a hand-moved clock that starts at the fixtures' time.
 */
export async function startWithShippedRecipes(
  overrides: Partial<ConfigInput> = {},
  start = Date.parse('2026-11-20T09:14:00Z'),
  backend: Backend = sqlite,
): Promise<Integration> {
  const temp = tempDir('hookline-integration-');
  cpSync(shippedRecipes, join(temp.dir, 'recipes'), { recursive: true });
  const clock = manualClock(start);
  const db = await backend.fresh(temp.dir);
  const config = testConfig(temp.dir, { retry: { schedule: [30_000, 60_000], jitter: 0, timeout: 5_000 }, ...overrides, store: { url: db.url } } as never);
  const hl = await startHookline({ config, clock, worker: false });
  return {
    hl,
    dir: temp.dir,
    clock,
    db,
    stop: async () => {
      await hl.close();
      await db.drop();
      temp.cleanup();
    },
  };
}
