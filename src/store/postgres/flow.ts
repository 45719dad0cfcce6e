import type { PoolClient } from 'pg';
import { afterCall, closedCircuit, gate, nextSlot, type CircuitRecord, type FlowStore } from '../ports/flow.ts';
import { circuitParams, toCircuit } from '../sqlite/flow.ts';
import { transaction, type Db } from './db.ts';

const circuitColumns = 'connection, state, failures, opened_at, reopen_at, probe_run, probe_until, updated_at';

const saveCircuitSql = `
  INSERT INTO flow_circuits (${circuitColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (connection) DO UPDATE SET state = EXCLUDED.state, failures = EXCLUDED.failures, opened_at = EXCLUDED.opened_at,
    reopen_at = EXCLUDED.reopen_at, probe_run = EXCLUDED.probe_run, probe_until = EXCLUDED.probe_until, updated_at = EXCLUDED.updated_at`;

/**
 * Flow control on PostgreSQL: a row per connection, locked for the read-decide-write of a slot or a
 * circuit (the row lock orders the instances), so a limit of 1/s is 1/s however many instances share it.
 */
export function postgresFlow(db: Db): FlowStore {
  const { pool } = db;
  /** The connection's circuit row, locked until the transaction ends (created closed when missing). */
  const locked = async (client: PoolClient, connection: string, now: number): Promise<CircuitRecord> => {
    await client.query(`INSERT INTO flow_circuits (connection, state, failures, updated_at) VALUES ($1, 'closed', 0, $2) ON CONFLICT DO NOTHING`, [connection, now]);
    const { rows } = await client.query(`SELECT ${circuitColumns} FROM flow_circuits WHERE connection = $1 FOR UPDATE`, [connection]);
    return toCircuit(rows[0]);
  };
  const save = (client: PoolClient, c: CircuitRecord) => client.query(saveCircuitSql, Object.values(circuitParams(c)));

  return {
    reserveRate: (connection, limit, now) =>
      transaction(pool, async (client) => {
        await client.query(`INSERT INTO flow_rates (connection, slots) VALUES ($1, '{}') ON CONFLICT DO NOTHING`, [connection]);
        const { rows } = await client.query<{ slots: string[] }>(`SELECT slots FROM flow_rates WHERE connection = $1 FOR UPDATE`, [connection]);
        const { slot, slots } = nextSlot((rows[0]?.slots ?? []).map(Number), limit, now);
        await client.query(`UPDATE flow_rates SET slots = $2::bigint[] WHERE connection = $1`, [connection, slots]);
        return slot;
      }),
    circuit: async (connection) => {
      const { rows } = await pool.query(`SELECT ${circuitColumns} FROM flow_circuits WHERE connection = $1`, [connection]);
      return rows[0] ? toCircuit(rows[0]) : closedCircuit(connection, 0);
    },
    circuits: async () => (await pool.query(`SELECT ${circuitColumns} FROM flow_circuits ORDER BY connection`)).rows.map(toCircuit),
    enterCircuit: async (connection, runId, now, probeMs) => {
      // The common case without a lock: a closed circuit lets the call go.
      const { rows } = await pool.query<{ state: string }>(`SELECT state FROM flow_circuits WHERE connection = $1`, [connection]);
      if (!rows[0] || rows[0].state === 'closed') return { go: true, probe: false };
      return transaction(pool, async (client) => {
        const { gate: result, claim } = gate(await locked(client, connection, now), runId, now, probeMs);
        if (claim) await save(client, claim);
        return result;
      });
    },
    recordCall: async (connection, runId, result, policy, now) => {
      let woke = false;
      const after = await transaction(pool, async (client) => {
        const before = await locked(client, connection, now);
        if (result === 'ok' && before.state === 'closed' && before.failures === 0) return before;
        const next = afterCall(before, runId, result, policy, now);
        await save(client, next);
        if (before.state === 'open' && next.state === 'closed') {
          const { rowCount } = await client.query(`UPDATE runs SET available_at = $1 WHERE hold = $2 AND status IN ('queued', 'retrying') AND available_at > $1`, [
            now,
            `circuit:${connection}`,
          ]);
          woke = (rowCount ?? 0) > 0;
        }
        return next;
      });
      if (woke) db.notify?.('runs');
      return after;
    },
    pause: async (recipe, now) => ((await pool.query(`INSERT INTO paused_recipes (recipe, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [recipe, now])).rowCount ?? 0) === 1,
    resume: async (recipe) => {
      const resumed = ((await pool.query(`DELETE FROM paused_recipes WHERE recipe = $1`, [recipe])).rowCount ?? 0) === 1;
      if (resumed) db.notify?.('runs');
      return resumed;
    },
    pausedRecipes: async () => (await pool.query<{ recipe: string }>(`SELECT recipe FROM paused_recipes`)).rows.map((r) => r.recipe),
    paused: async () =>
      (
        await pool.query<{ recipe: string; paused_at: string; held: string }>(`
          SELECT p.recipe, p.paused_at, (SELECT count(*) FROM runs r WHERE r.recipe = p.recipe AND r.status IN ('queued', 'retrying')) AS held
          FROM paused_recipes p ORDER BY p.recipe`)
      ).rows.map((r) => ({ recipe: r.recipe, pausedAt: Number(r.paused_at), held: Number(r.held) })),
    held: async () =>
      Object.fromEntries(
        (await pool.query<{ hold: string; n: string }>(`SELECT hold, count(*) AS n FROM runs WHERE hold IS NOT NULL AND status IN ('queued', 'retrying') GROUP BY hold`)).rows.map(
          (r) => [r.hold, Number(r.n)],
        ),
      ),
  };
}
