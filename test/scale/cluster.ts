// Several `hookline serve` processes on one PostgreSQL schema, as an operator runs them behind a
// load balancer: each its own folder (recipes, data), all the same store. Debug logs, so that tests
// can wait on "run done" and friends.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postgres, type FreshStore } from '../helpers/backends.ts';
import { spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';

export interface Cluster {
  /** The shared store: its URL and plain SQL on it. */
  db: FreshStore;
  /** The running processes; index i is instance i (replaced on restart). */
  instances: Child[];
  /** Starts instance i (again, after a stop or kill: same folder, same config). */
  start(i: number): Promise<Child>;
  close(): Promise<void>;
}

/** `size` instances configured, the first `running` (default all) started. */
export async function startCluster(options: { size: number; running?: number; recipes: Record<string, string>; config?: string }): Promise<Cluster> {
  const root = tempDir('hookline-cluster-');
  const db = await postgres.fresh(root.dir);
  const configs: string[] = [];
  for (let i = 0; i < options.size; i++) {
    const dir = join(root.dir, `instance-${i}`);
    for (const [name, yaml] of Object.entries(options.recipes)) writeRecipe(dir, name, yaml);
    const file = writeChildConfig(dir, options.config ?? '', db.url);
    writeFileSync(file, readFileSync(file, 'utf8').replace('log: { level: warn }', 'log: { level: debug }'));
    configs.push(file);
  }
  const instances: Child[] = [];
  const everyChild: Child[] = [];
  const start = async (i: number) => {
    const child = await spawnHookline(['serve', '--config', configs[i]!], { cwd: join(root.dir, `instance-${i}`) });
    everyChild.push(child);
    instances[i] = child;
    return child;
  };
  const cluster: Cluster = {
    db,
    instances,
    start,
    close: async () => {
      for (const child of everyChild) if (child.proc.exitCode === null && child.proc.signalCode === null) await child.kill();
      await db.drop();
      root.cleanup();
    },
  };
  try {
    // All at once: they migrate the fresh schema concurrently (an advisory lock orders them).
    await Promise.all(Array.from({ length: options.running ?? options.size }, (_, i) => start(i)));
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** How many log lines of a process match `pattern` so far. */
export const countLog = (child: Child, pattern: RegExp) => child.stdout().split('\n').filter((line) => pattern.test(line)).length;

/** Requests per idempotency key: what a destination received, step by step. */
export function byKey(requests: Array<{ headers: Record<string, string | string[] | undefined> }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = String(r.headers['idempotency-key']);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
