import type { Store } from '../store/types.ts';

/** How many records a snapshot looks at, and how many it lists: a schedule event stays small. */
const scanned = 1_000;
const listed = 5;

/**
 * What a schedule event carries for a digest recipe: open tickets (count, oldest few) and the runs
 * that went dead since the previous tick (count, latest few). Counts past `scanned` are capped and
 * say so. Read-only, bounded queries.
 */
export async function digestSnapshot(store: Pick<Store, 'read'>, since: number | undefined, now: number) {
  const iso = (t: number) => new Date(t).toISOString();
  const open = await store.read.tickets({ status: 'open', limit: scanned });
  const oldest = [...open].sort((a, b) => a.createdAt - b.createdAt).slice(0, listed);
  const dead = (await store.read.runs({ status: 'dead', limit: scanned })).filter((r) => r.updatedAt <= now && (since === undefined || r.updatedAt > since));
  return {
    open_tickets: open.length,
    open_tickets_capped: open.length >= scanned,
    oldest_open_tickets: oldest.map((t) => ({ number: `T-${t.id}`, subject: t.subject, customer: t.customer.email, created_at: iso(t.createdAt), messages: t.messageCount })),
    dead_runs: dead.length,
    dead_runs_capped: dead.length >= scanned,
    recent_dead_runs: dead.slice(0, listed).map((r) => ({ run: r.id, recipe: r.recipe, error: r.error, dead_at: iso(r.updatedAt) })),
  };
}
