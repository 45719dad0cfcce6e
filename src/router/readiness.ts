import type { DispatchBacklog, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Dispatcher } from './dispatcher.ts';

export interface DispatchReadinessDeps {
  store: Store;
  clock: Clock;
  dispatcher: Pick<Dispatcher, 'failure'>;
  /** Whether this instance's worker runs: only then is dispatch its business. */
  working: () => boolean;
  /** Not ready while the oldest event waiting for dispatch is older than this (worker.max_lag; 0: never). */
  maxLagMs: number;
}

/** What /readyz adds to its answer; a `problem` makes it 503. */
export interface Readiness {
  problem?: string | undefined;
  details: Record<string, unknown>;
}

/** How long the oldest event waiting for dispatch has waited, in ms (0 when none waits). */
export function dispatchLagMs(backlog: DispatchBacklog, now: number): number {
  return backlog.oldestPending === undefined ? 0 : Math.max(0, now - backlog.oldestPending);
}

/**
 * Whether dispatch keeps up, for /readyz: a dispatcher that is stuck (a lock never released, a store
 * that fails every pass) or far behind leaves events waiting, so the age of the oldest one says it
 * whatever the cause. With PostgreSQL the backlog is shared: every instance that works reports it.
 * Set-aside events do not make an instance unready (they wait for an operator, not for dispatch);
 * their number is reported.
 */
export function dispatchReadiness(deps: DispatchReadinessDeps): () => Promise<Readiness> {
  return async () => {
    if (!deps.working()) return { details: { dispatch: { worker: false } } };
    const backlog = await deps.store.read.backlog();
    const lag = dispatchLagMs(backlog, deps.clock.now());
    const failure = deps.dispatcher.failure;
    const dispatch = {
      lag_ms: lag,
      set_aside: backlog.setAside,
      ...(failure && { failing_since: new Date(failure.since).toISOString(), error: failure.error }),
    };
    if (deps.maxLagMs <= 0 || lag <= deps.maxLagMs) return { details: { dispatch } };
    const why = failure ? `; dispatch has failed since ${dispatch.failing_since}: ${failure.error}` : '';
    return {
      problem: `dispatch is behind: the oldest event waiting for it was received ${Math.round(lag / 1000)} s ago (worker.max_lag: ${Math.round(deps.maxLagMs / 1000)} s)${why}`,
      details: { dispatch },
    };
  };
}
