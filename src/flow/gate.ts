import { isConfigured, type ConnectionName } from '../actions/types.ts';
import type { Config } from '../config/schema.ts';
import { NonRetryableError, RetryableError } from '../errors.ts';
import type { CallResult, CircuitRecord, FlowStore, RunQueue } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

/**
 * Flow control before and after a step calls its connection (issue 14): the connection's rate (a slot
 * reserved in the store, shared by every instance) and its circuit. A step that may not call now is
 * held: its run goes back to the queue, due when it may, without spending an attempt.
 */
export interface FlowGate {
  /** Whether the step of `run` may call `connection` now, or when to come back (and why). */
  before(connection: string, run: { id: string; hold?: string | null | undefined; availableAt: number }, now: number): Promise<Admission>;
  /** Counts the call's result; after a failure that leaves the circuit open, when it may be tried again. */
  after(connection: string, runId: string, error: unknown | undefined, now: number): Promise<{ open: false } | { open: true; until: number }>;
  /** The run goes back to the queue, held (the engine's write). */
  hold: RunQueue['hold'];
  /** A step was held (counted by the metrics). */
  held?(connection: string, reason: 'rate' | 'circuit'): void;
}

export type Admission = { go: true } | { go: false; reason: string; until: number };

export interface FlowGateDeps {
  store: { flow: FlowStore; queue: Pick<RunQueue, 'hold'> };
  /** The config in force (a reload may change rates and circuits). */
  readonly config: Config;
  clock: Clock;
  /** Waits `ms` (a slot a few milliseconds away is waited for rather than queued for). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Kept in hand between rate slots: a held step claimed up to `rateLatenessMs` late still keeps the
 * limit, with the rest for the way from the check to the destination. A step claimed later reserves
 * a new slot (the old one is lost, never doubled).
 */
export const rateMarginMs = 100;
export const rateLatenessMs = 50;
/** A slot closer than this is waited for in place. */
const waitInPlaceMs = 50;
/**
 * The SDK each connection's actions load on first use. A rate slot is reserved just before the call,
 * so the first call of a process must not spend its slot loading the SDK and fetch (a few hundred
 * milliseconds under load): they are loaded before the first reservation.
 */
const sdkOf: Record<string, () => Promise<unknown>> = {
  slack: () => import('@slack/webhook'),
  hubspot: () => import('@hubspot/api-client'),
  openai: () => import('openai'),
  pagerduty: () => import('@pagerduty/pdjs'),
};

/** How long an instance trusts what it last read of a circuit before reading it again. */
const circuitFreshMs = 1000;

/**
 * Which results count against the circuit: network errors, timeouts and 5xx fail; a 429 is the
 * destination's own rate limit (it is up) and counts neither way; other answers (2xx, 4xx) show the
 * destination up.
 */
export function callResult(error: unknown): CallResult | undefined {
  if (error === undefined) return 'ok';
  if (error instanceof NonRetryableError) return 'ok';
  if (error instanceof RetryableError && error.status === 429) return undefined;
  return 'failure';
}

export function flowGate(deps: FlowGateDeps): FlowGate {
  const { flow } = deps.store;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** What this instance last read of each circuit, and when. */
  const known = new Map<string, { circuit: CircuitRecord; readAt: number }>();
  const loaded = new Map<string, Promise<unknown>>();
  const warm = (connection: string) => {
    let loading = loaded.get(connection);
    // fetch too (the SDKs call it): its first use in a process loads undici, tens of milliseconds.
    const fetchReady = () => fetch('data:,').then((r) => r.arrayBuffer());
    if (!loading) loaded.set(connection, (loading = Promise.all([sdkOf[connection]?.(), fetchReady()]).catch(() => undefined)));
    return loading;
  };
  const policies = (connection: string) => {
    const c = (deps.config.connections as Record<string, { rate?: { count: number; periodMs: number }; circuit?: { after: number; coolDownMs: number } }>)[connection];
    // A connection not configured is not called (the step is skipped): nothing to limit.
    if (!c || !isConfigured(deps.config, connection as ConnectionName)) return {};
    return { rate: c.rate, circuit: c.circuit };
  };
  const circuitOf = async (connection: string, now: number) => {
    const k = known.get(connection);
    if (k && now - k.readAt < circuitFreshMs) return k.circuit;
    const circuit = await flow.circuit(connection);
    known.set(connection, { circuit, readAt: now });
    return circuit;
  };
  // The probe's turn lasts as long as its call may: the request timeout, and some.
  const probeMs = () => deps.config.retry.timeout + 5000;

  return {
    hold: (lease, hold) => deps.store.queue.hold(lease, hold),
    async before(connection, run, now) {
      const { rate, circuit } = policies(connection);
      if (circuit && (await circuitOf(connection, now)).state === 'open') {
        const gate = await flow.enterCircuit(connection, run.id, now, probeMs());
        if (!gate.go) return { go: false, reason: `circuit:${connection}`, until: gate.until };
      }
      if (rate) {
        const reason = `rate:${connection}`;
        // Its slot was reserved when it was held: due now, and not so late that the limit could break.
        if (run.hold === reason && run.availableAt <= now && now - run.availableAt <= rateLatenessMs) return { go: true };
        await warm(connection);
        now = deps.clock.now();
        const slot = await flow.reserveRate(connection, { ...rate, marginMs: rateMarginMs }, now);
        if (slot - now > waitInPlaceMs) return { go: false, reason, until: slot };
        if (slot > now) await sleep(slot - now);
      }
      return { go: true };
    },
    async after(connection, runId, error, now) {
      const { circuit: policy } = policies(connection);
      const result = callResult(error);
      if (!policy || result === undefined) return { open: false };
      const k = known.get(connection);
      // A success of a connection known healthy (as read before the call, at most a second old then) writes nothing.
      if (result === 'ok' && k && k.circuit.state === 'closed' && k.circuit.failures === 0) return { open: false };
      const circuit = await flow.recordCall(connection, runId, result, policy, now);
      known.set(connection, { circuit, readAt: now });
      return result === 'failure' && circuit.state === 'open' ? { open: true, until: circuit.reopenAt ?? now } : { open: false };
    },
  };
}

