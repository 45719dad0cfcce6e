import type { Logger } from '../observability/logger.ts';
import { traceRun } from '../observability/tracing.ts';
import { executeRun, type EngineDeps, type ExecutionResult } from '../engine/execute.ts';
import { LeaseLostError } from '../errors.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Dispatcher } from './dispatcher.ts';
import { instanceId, isDeadLocalOwner } from './instance.ts';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  pollMs: number;
}

/**
 * The worker loop: dispatch stored events, time out due waits, and execute due runs with bounded
 * concurrency, holding a lease on each (heartbeated) so that a crashed instance's runs are taken over.
 * It knows only the store interface.
 */
export class Worker {
  readonly owner = instanceId();
  private readonly inFlight = new Map<string, Promise<void>>();
  private running = false;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  /** Whether a claim could find something: new runs, a freed destination, a due time, a poll. */
  private claimWanted = true;
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly engine: EngineDeps;
  private readonly options: WorkerOptions;

  constructor(deps: { store: Store; clock: Clock; logger: Logger; dispatcher: Dispatcher; engine: EngineDeps; options: WorkerOptions }) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.dispatcher = deps.dispatcher;
    this.engine = deps.engine;
    this.options = deps.options;
    this.engine.limiter.onFree = () => this.wake();
  }

  /** Whether the worker loop runs (started and not stopping). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Something may be due (an event stored, runs created or resolved, a destination freed): look now. */
  wake(): void {
    this.claimWanted = true;
    this.pendingWake = true;
    this.wakeUp?.();
  }

  async start(): Promise<void> {
    this.running = true;
    await this.recoverDeadLocalOwners();
    this.unsubscribe = this.store.subscribe(() => this.wake());
    this.heartbeat = setInterval(() => {
      const ids = [...this.inFlight.keys()];
      if (ids.length > 0) {
        this.store.runs.heartbeat(this.owner, ids, this.clock.now() + this.options.leaseMs).catch((err: unknown) => this.logger.warn({ err }, 'lease heartbeat failed'));
      }
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
    this.heartbeat.unref();
    this.loop = this.run();
  }

  /** Stops claiming work and waits (up to `graceMs`) for the runs in flight. */
  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    this.unsubscribe?.();
    await this.loop;
    this.engine.limiter.cancelWaiting();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(this.inFlight.values()), timeout]);
    clearInterval(this.heartbeat);
  }

  /**
   * One pass of everything due: dispatch pending events, expire due waits, start due runs (up to the
   * free slots). Returns whether it found anything to do. Tests drive the worker with this and an
   * injected clock; the loop below calls it until idle.
   */
  async tick(): Promise<boolean> {
    let busy = false;
    try {
      const dispatched = await this.dispatcher.dispatchPending();
      busy ||= dispatched.length > 0;
    } catch (error) {
      // The store is in trouble (an event that fails on its own is set aside instead): the next pass
      // tries again, and runs already created still get their turn below.
      this.logger.warn({ err: error }, 'dispatch pass failed; retrying');
    }
    const expired = await this.store.waits.expire(this.clock.now(), 500);
    busy ||= expired.length > 0;
    // Runs waiting in the limiter for their destination hold no slot.
    const free = this.options.concurrency - (this.inFlight.size - this.engine.limiter.waiting());
    if (busy) this.claimWanted = true;
    if (free > 0 && this.claimWanted) {
      // Runs of destinations at their cap are left in the queue, so a slow one cannot fill every slot.
      const claimed = await this.store.runs.claim(this.owner, this.clock.now(), this.options.leaseMs, free, this.engine.limiter.saturated());
      for (const run of claimed) this.track(run.id, traceRun(run, () => executeRun(run, this.owner, this.engine)));
      // Fewer than asked: nothing more is claimable until something changes (see wake()).
      if (claimed.length < free) this.claimWanted = false;
      busy ||= claimed.length > 0;
    }
    return busy;
  }

  /** Runs ticks until nothing is due and no run is in flight (tests). */
  async drain(): Promise<void> {
    this.claimWanted = true; // the caller may have moved the clock
    for (;;) {
      const busy = await this.tick();
      if (this.inFlight.size > 0) {
        await Promise.race(this.inFlight.values());
        continue;
      }
      if (!busy) return;
    }
  }

  private track(runId: string, execution: Promise<ExecutionResult>): void {
    const done = execution
      .then((result) => this.logger.debug({ run: runId, result }, `run ${result}`))
      .catch((error: unknown) => {
        if (error instanceof LeaseLostError) this.logger.warn({ run: runId }, error.message);
        else this.logger.error({ run: runId, err: error }, 'run execution failed; it will be retried when its lease expires');
      })
      .finally(() => {
        this.inFlight.delete(runId);
        // A slot is free; a claim is wanted if that was the limit (a freed destination wakes by itself).
        this.pendingWake = true;
        this.wakeUp?.();
      });
    this.inFlight.set(runId, done);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pendingWake = false;
      let busy = false;
      try {
        busy = await this.tick();
      } catch (error) {
        this.logger.error({ err: error }, 'worker pass failed; retrying');
      }
      if (!this.running) break;
      if (busy && this.inFlight.size < this.options.concurrency) continue;
      if (this.pendingWake) continue;
      const sleep = await this.untilNextDue().catch(() => this.options.pollMs);
      if (this.pendingWake) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          // A due time or the poll interval came: runs may have become claimable (retries, other
          // instances' work). A wake-up by a finished run alone does not make anything claimable.
          this.claimWanted = true;
          resolve();
        }, sleep);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** How long to sleep: until the next run or wait is due, at most one poll interval. */
  private async untilNextDue(): Promise<number> {
    const now = this.clock.now();
    const [run, wait] = await Promise.all([this.store.runs.nextDue(), this.store.waits.nextDeadline()]);
    const due = Math.min(run ?? Infinity, wait ?? Infinity);
    return Math.max(1, Math.min(this.options.pollMs, due - now));
  }

  /** On start: runs leased by instances of this host that are gone are claimable at once. */
  private async recoverDeadLocalOwners(): Promise<void> {
    for (const owner of await this.store.runs.leaseOwners()) {
      if (!isDeadLocalOwner(owner, this.owner)) continue;
      const n = await this.store.runs.releaseOwner(owner, this.clock.now());
      if (n > 0) this.logger.info({ owner, runs: n }, 'took over the runs of a stopped instance');
    }
  }
}
