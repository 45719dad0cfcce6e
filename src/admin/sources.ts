import type { Config } from '../config/schema.ts';
import type { Rejecting } from '../receive/rejections.ts';
import { sourcesOf } from '../sources/configured.ts';
import { hookline, ownSource } from '../sources/hookline/index.ts';

/** One source as the admin API (`GET /admin/sources`) and `hookline sources --json` show it. */
export interface SourceJson {
  name: string;
  preset: string;
  /** The URL path it is received at; null for hookline's own events (never received over HTTP). */
  path: string | null;
  enabled: boolean;
  /** Whether this instance serves its webhook route. */
  receiving: boolean;
  /** False where the provider signs no timestamp (GitHub, Shopify): dedup is the only guard against a replay. */
  replay_window: boolean;
  /** The types it sends, where the set is known; null: any. */
  event_types: string[] | null;
  /** While its deliveries keep failing on their signature (a wrong secret), as this instance saw. */
  rejecting: { since: string; rejections: number; cause: string } | null;
}

export function sourcesJson(config: Config, receiving: readonly string[], rejecting: readonly Rejecting[]): SourceJson[] {
  return [
    ...sourcesOf(config).map((s) => {
      const r = rejecting.find((x) => x.source === s.name);
      return {
        name: s.name,
        preset: s.preset.name,
        path: s.config.path,
        enabled: s.config.enabled,
        receiving: receiving.includes(s.name),
        replay_window: s.scheme.replayWindow,
        event_types: s.scheme.eventTypes ? [...s.scheme.eventTypes] : null,
        rejecting: r ? { since: new Date(r.since).toISOString(), rejections: r.rejections, cause: r.cause } : null,
      };
    }),
    { name: ownSource, preset: ownSource, path: null, enabled: true, receiving: false, replay_window: false, event_types: [...hookline.eventTypes], rejecting: null },
  ];
}
