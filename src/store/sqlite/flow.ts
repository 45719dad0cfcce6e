import type Database from 'better-sqlite3';
import { afterCall, closedCircuit, gate, nextSlot, type CircuitRecord, type FlowStore } from '../ports/flow.ts';
import type { Writer } from './writer.ts';

interface CircuitRow {
  connection: string;
  state: 'closed' | 'open';
  failures: number;
  opened_at: number | null;
  reopen_at: number | null;
  probe_run: string | null;
  probe_until: number | null;
  updated_at: number;
}

export const toCircuit = (r: CircuitRow): CircuitRecord => ({
  connection: r.connection,
  state: r.state,
  failures: Number(r.failures),
  openedAt: r.opened_at === null ? null : Number(r.opened_at),
  reopenAt: r.reopen_at === null ? null : Number(r.reopen_at),
  probeRun: r.probe_run,
  probeUntil: r.probe_until === null ? null : Number(r.probe_until),
  updatedAt: Number(r.updated_at),
});

export const circuitParams = (c: CircuitRecord) => ({
  connection: c.connection,
  state: c.state,
  failures: c.failures,
  opened_at: c.openedAt,
  reopen_at: c.reopenAt,
  probe_run: c.probeRun,
  probe_until: c.probeUntil,
  updated_at: c.updatedAt,
});

/** Flow control on SQLite: the same rows as on PostgreSQL, owned by one process; writes go through the group commit. */
export function sqliteFlow(db: Database.Database, writer: Writer): FlowStore {
  const slotsOf = db.prepare(`SELECT slots FROM flow_rates WHERE connection = ?`).pluck();
  const saveSlots = db.prepare(`INSERT INTO flow_rates (connection, slots) VALUES (?, ?) ON CONFLICT (connection) DO UPDATE SET slots = excluded.slots`);
  const circuitOf = db.prepare(`SELECT * FROM flow_circuits WHERE connection = ?`);
  const allCircuits = db.prepare(`SELECT * FROM flow_circuits ORDER BY connection`);
  const saveCircuit = db.prepare(`
    INSERT INTO flow_circuits (connection, state, failures, opened_at, reopen_at, probe_run, probe_until, updated_at)
    VALUES (@connection, @state, @failures, @opened_at, @reopen_at, @probe_run, @probe_until, @updated_at)
    ON CONFLICT (connection) DO UPDATE SET state = excluded.state, failures = excluded.failures, opened_at = excluded.opened_at,
      reopen_at = excluded.reopen_at, probe_run = excluded.probe_run, probe_until = excluded.probe_until, updated_at = excluded.updated_at`);
  const wakeHeld = db.prepare(`UPDATE runs SET available_at = @now WHERE hold = @hold AND status IN ('queued', 'retrying') AND available_at > @now`);
  const pause = db.prepare(`INSERT INTO paused_recipes (recipe, paused_at) VALUES (?, ?) ON CONFLICT DO NOTHING`);
  const resume = db.prepare(`DELETE FROM paused_recipes WHERE recipe = ?`);
  const paused = db.prepare(`
    SELECT p.recipe, p.paused_at,
      (SELECT count(*) FROM runs r WHERE r.recipe = p.recipe AND r.status IN ('queued', 'retrying')) AS held
    FROM paused_recipes p ORDER BY p.recipe`);
  const pausedNames = db.prepare(`SELECT recipe FROM paused_recipes`).pluck();
  const held = db.prepare(`SELECT hold, count(*) AS n FROM runs WHERE hold IS NOT NULL AND status IN ('queued', 'retrying') GROUP BY hold`);

  const current = (connection: string, now: number): CircuitRecord => {
    const row = circuitOf.get(connection) as CircuitRow | undefined;
    return row ? toCircuit(row) : closedCircuit(connection, now);
  };
  const reserveTx = db.transaction((connection: string, limit: Parameters<FlowStore['reserveRate']>[1], now: number) => {
    const stored = slotsOf.get(connection) as string | undefined;
    const { slot, slots } = nextSlot(stored ? (JSON.parse(stored) as number[]) : [], limit, now);
    saveSlots.run(connection, JSON.stringify(slots));
    return slot;
  });
  const enterTx = db.transaction((connection: string, runId: string, now: number, probeMs: number) => {
    const { gate: result, claim } = gate(current(connection, now), runId, now, probeMs);
    if (claim) saveCircuit.run(circuitParams(claim));
    return result;
  });
  const recordTx = db.transaction((connection: string, runId: string, result: 'ok' | 'failure', policy: Parameters<FlowStore['recordCall']>[3], now: number) => {
    const before = current(connection, now);
    const after = afterCall(before, runId, result, policy, now);
    // A success of a healthy connection changes nothing: no write on the common path.
    if (result === 'ok' && before.state === 'closed' && before.failures === 0) return before;
    saveCircuit.run(circuitParams(after));
    if (before.state === 'open' && after.state === 'closed') wakeHeld.run({ now, hold: `circuit:${connection}` });
    return after;
  });

  return {
    reserveRate: (connection, limit, now) => writer.write(() => reserveTx(connection, limit, now)),
    circuit: async (connection) => current(connection, 0),
    circuits: async () => (allCircuits.all() as CircuitRow[]).map(toCircuit),
    enterCircuit: (connection, runId, now, probeMs) => writer.write(() => enterTx(connection, runId, now, probeMs)),
    recordCall: (connection, runId, result, policy, now) => writer.write(() => recordTx(connection, runId, result, policy, now)),
    pause: (recipe, now) => writer.write(() => pause.run(recipe, now).changes === 1),
    resume: (recipe) => writer.write(() => resume.run(recipe).changes === 1),
    pausedRecipes: async () => pausedNames.all() as string[],
    paused: async () =>
      (paused.all() as Array<{ recipe: string; paused_at: number; held: number }>).map((r) => ({ recipe: r.recipe, pausedAt: Number(r.paused_at), held: Number(r.held) })),
    held: async () => Object.fromEntries((held.all() as Array<{ hold: string; n: number }>).map((r) => [r.hold, Number(r.n)])),
  };
}
