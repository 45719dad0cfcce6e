import type { Config } from './schema.ts';

/**
 * What a running hookline can take from a new config without a restart (SIGHUP, or the config file
 * changing). Everything else — the listening socket, the store, the routes, the worker's sizes, the
 * recipes folder, any key added later that nobody made reloadable — keeps its running value, and
 * the reload says that it needs a restart.
 */
const reloadable: readonly string[] = [
  'sources.*.secrets', // rotation: add the new secret, reload, switch the provider, remove the old one
  'sources.*.tolerance',
  'sources.*.dedup_ttl',
  'sources.*.alert_after',
  // MERU's limits: a source's scheme (and its receive hook) is compiled from the config in force.
  'sources.*.attachment_limit',
  'sources.*.email_attachments_limit',
  'connections',
  'retry',
  'vars',
  'env',
  'admin.token', // a new token; turning the admin API and console on or off needs a restart
  'log.level',
  'retention', // read by the pruner at each pass
];

/** For the startup summary and the README: the keys applied live, and what needs a restart. */
export const reloadSummary = {
  live: ['sources.*.secrets, tolerance, dedup_ttl, alert_after', 'the MERU attachment limits', 'connections', 'retry', 'vars', 'env', 'admin.token', 'log.level', 'retention'],
  restart: [
    'server.*',
    'store.*',
    'worker.*',
    'recipes',
    'attachments',
    'data_dir',
    'a source added or removed',
    'sources.*.enabled, path, preset',
    'sources.*.transcript and the hmac signature, id, type',
    'admin.token set or emptied',
  ],
};

export interface ReloadPlan {
  /** The config to run: the new one, with the running value kept wherever a change needs a restart. */
  config: Config;
  /** Changed keys now in force (dotted paths; never values, which may be secrets). */
  applied: string[];
  /** Changed keys that keep their running value until a restart. */
  restart: string[];
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const config = structuredClone(next);
  const applied: string[] = [];
  const restart: string[] = [];
  for (const path of changedPaths(running, next)) {
    if (isReloadable(path, running, next)) {
      applied.push(path.join('.'));
    } else {
      restart.push(path.join('.'));
      setAt(config, path, valueAt(running, path));
    }
  }
  return { config, applied, restart };
}

function isReloadable(path: readonly string[], running: Config, next: Config): boolean {
  // The admin API and console exist or not from the start: only a token's change is applied live.
  if (path.join('.') === 'admin.token' && !running.admin.token !== !next.admin.token) return false;
  return reloadable.some((pattern) => {
    const parts = pattern.split('.');
    return parts.length <= path.length && parts.every((p, i) => p === '*' || p === path[i]);
  });
}

/** Paths of the leaves that differ; a list is one leaf (it is replaced as a whole). */
function changedPaths(a: unknown, b: unknown, path: string[] = []): string[][] {
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) => changedPaths(a[key], b[key], [...path, key]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, key) => (isObject(v) ? v[key] : undefined), value);
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const parent = valueAt(target, path.slice(0, -1));
  if (!isObject(parent)) return;
  const key = path.at(-1)!;
  if (value === undefined) delete parent[key];
  else parent[key] = structuredClone(value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
