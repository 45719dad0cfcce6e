/**
 * Flow control's port (issue 14): the rate slots and the circuit of each connection, and the paused
 * recipes. One row per connection, shared by every instance on PostgreSQL (one process owns a SQLite
 * file). Times are passed in by the caller.
 */

/** At most `count` calls in any `periodMs`. */
export interface RateLimit {
  count: number;
  periodMs: number;
  /** Kept in hand between slots, so that a call started up to this late still keeps the limit. */
  marginMs: number;
}

export interface CircuitPolicy {
  /** Consecutive failed attempts that open the circuit. */
  after: number;
  /** How long it stays open before one probe goes. */
  coolDownMs: number;
}

export interface CircuitRecord {
  connection: string;
  state: 'closed' | 'open';
  /** Consecutive failed attempts. */
  failures: number;
  openedAt: number | null;
  /** When a probe may go (open only). */
  reopenAt: number | null;
  /** The run whose call is the probe, until probeUntil. */
  probeRun: string | null;
  probeUntil: number | null;
  updatedAt: number;
}

/** Whether a step may call its connection now: yes (maybe as the circuit's probe), or not before `until`. */
export type CircuitGate = { go: true; probe: boolean } | { go: false; until: number };

/** What came of a call, as the circuit counts it. */
export type CallResult = 'ok' | 'failure';

export interface PausedRecipe {
  recipe: string;
  pausedAt: number;
  /** Runs created and held meanwhile (queued or retrying). */
  held: number;
}

export interface FlowStore {
  /**
   * Reserves the connection's next free slot at or after `now` such that no `count + 1` slots fall
   * within `periodMs + marginMs`; returns it. A slot later than `now` is the caller's to use then.
   */
  reserveRate(connection: string, limit: RateLimit, now: number): Promise<number>;
  /** The connection's circuit (closed with no failures when never recorded). */
  circuit(connection: string): Promise<CircuitRecord>;
  /** Every recorded circuit. */
  circuits(): Promise<CircuitRecord[]>;
  /**
   * A step of `runId` wants to call: closed lets it go; open lets one probe go once the cool-down
   * is over (the probe's slot lasts `probeMs`), and holds the others.
   */
  enterCircuit(connection: string, runId: string, now: number, probeMs: number): Promise<CircuitGate>;
  /**
   * Counts a call's result: a success closes the circuit (and makes the runs it held due now); a
   * failure counts, opens the circuit at `policy.after`, and a failed probe re-opens it. Returns the
   * circuit as it now stands.
   */
  recordCall(connection: string, runId: string, result: CallResult, policy: CircuitPolicy, now: number): Promise<CircuitRecord>;
  /** Pauses a recipe: its runs are created but not claimed. False when it was paused already. */
  pause(recipe: string, now: number): Promise<boolean>;
  /** Resumes a recipe: its held runs become claimable, in their order. False when it was not paused. */
  resume(recipe: string): Promise<boolean>;
  /** The names of the paused recipes (cheap: the dispatcher reads it on passes that start runs at once). */
  pausedRecipes(): Promise<string[]>;
  /** The paused recipes, with the runs each holds. */
  paused(): Promise<PausedRecipe[]>;
  /** Runs waiting for flow control now, by reason (`rate:<connection>`, `circuit:<connection>`). */
  held(): Promise<Record<string, number>>;
}

export const closedCircuit = (connection: string, now: number): CircuitRecord => ({
  connection,
  state: 'closed',
  failures: 0,
  openedAt: null,
  reopenAt: null,
  probeRun: null,
  probeUntil: null,
  updatedAt: now,
});

/** The rate's next slot (pure: both backends compute it the same way from the slots kept). */
export function nextSlot(slots: readonly number[], limit: RateLimit, now: number): { slot: number; slots: number[] } {
  let slot = now;
  const last = slots.at(-1);
  if (last !== undefined) slot = Math.max(slot, last);
  if (slots.length >= limit.count) slot = Math.max(slot, slots[slots.length - limit.count]! + limit.periodMs + limit.marginMs);
  return { slot, slots: [...slots, slot].slice(-limit.count) };
}

/** Where the circuit goes after a call's result (pure, as nextSlot). */
export function afterCall(c: CircuitRecord, runId: string, result: CallResult, policy: CircuitPolicy, now: number): CircuitRecord {
  if (result === 'ok') return closedCircuit(c.connection, now);
  const failures = c.failures + 1;
  if (c.state === 'closed') {
    return failures >= policy.after
      ? { ...c, state: 'open', failures, openedAt: now, reopenAt: now + policy.coolDownMs, probeRun: null, probeUntil: null, updatedAt: now }
      : { ...c, failures, updatedAt: now };
  }
  // Open: the probe failed (open again for a cool-down), or a call that started before it opened.
  if (c.probeRun === runId) return { ...c, failures, reopenAt: now + policy.coolDownMs, probeRun: null, probeUntil: null, updatedAt: now };
  return { ...c, failures, updatedAt: now };
}

/** Whether a run may call through the circuit (pure, as nextSlot); `claim` is the circuit with this run as its probe. */
export function gate(c: CircuitRecord, runId: string, now: number, probeMs: number): { gate: CircuitGate; claim?: CircuitRecord } {
  if (c.state === 'closed') return { gate: { go: true, probe: false } };
  if (c.reopenAt !== null && c.reopenAt > now) return { gate: { go: false, until: c.reopenAt } };
  if (c.probeRun !== null && c.probeRun !== runId && c.probeUntil !== null && c.probeUntil > now) return { gate: { go: false, until: c.probeUntil } };
  return { gate: { go: true, probe: true }, claim: { ...c, probeRun: runId, probeUntil: now + probeMs, updatedAt: now } };
}
