import type { Logger } from '../observability/logger.ts';
import { traceRun } from '../observability/tracing.ts';
import { executeRun, type EngineDeps, type ExecutionResult } from '../engine/execute.ts';
import type { DestinationLimiter } from '../engine/limiter.ts';
import { LeaseLostError } from '../errors.ts';
import type { Dispatcher } from '../router/dispatcher.ts';
import type { ClaimedRun, Store, Wake } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { DueTimes } from './due-times.ts';
import { instanceId, isDeadLocalOwner } from './instance.ts';
import type { Scheduler } from './scheduler.ts';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  /** The fallback: how often to look for work nobody announced (another process's, a missed wake-up). */
  pollMs: number;
}

export interface WorkerDeps {
  store: Pick<Store, 'queue' | 'waits' | 'subscribe'>;
  clock: Clock;
  logger: Logger;
  dispatcher: Pick<Dispatcher, 'dispatchPending'>;
  engine: EngineDeps;
  limiter: DestinationLimiter;
  /** Fires due schedule ticks (worker/scheduler.ts); tick() asks it, its own timer does the rest. */
  scheduler?: Pick<Scheduler, 'check'> | undefined;
  options: WorkerOptions;
}

/** Events dispatched per pass (one transaction). */
const dispatchBatch = 100;
/** Waits timed out per sweep. */
const expireBatch = 500;
/**
 * A claim for fewer free slots than a quarter of them waits this long for more runs to finish, so
 * that a burst is claimed in batches rather than one slot per finished run.
 */
const claimLingerMs = 2;

/**
 * The worker: dispatches stored events, times out due waits, and executes due runs with bounded
 * concurrency, holding a lease on each (heartbeated) so that a crashed instance's runs are taken
 * over. It asks the store only when something may be there: the receiver, the other instances
 * (LISTEN/NOTIFY) and its own runs say when events are stored or runs become due, and it keeps the
 * next wait deadline and the next retry in memory, with a timer; a slow poll (`pollMs`) is the
 * fallback for a wake-up that never came. It knows only the store's ports.
 */
export class Worker {
  readonly owner = instanceId();
  private readonly inFlight = new Map<string, Promise<void>>();
  private running = false;
  /** Events may wait for dispatch. */
  private eventsPending = true;
  /** Runs may be claimable (created, resolved, due, freed, or a poll). */
  private runsDue = true;
  /** The earliest known deadline of a waiting wait, and retry time of a run: when to look again. */
  private deadlineAt: number | undefined;
  private readonly retries = new DueTimes();
  private dispatching: Promise<void> | undefined;
  private claiming: Promise<void> | undefined;
  private expiring: Promise<void> | undefined;
  private scheduled = false;
  private lastClaimAt = 0;
  /** Slots offered to the dispatch pass under way (see SlotOffer): not free for claims meanwhile. */
  private offered = 0;
  /** The last claim left runs of destinations at their cap in the queue: a freed destination wakes it. */
  private lanesSkipped = false;
  private timer: { at: number; handle: NodeJS.Timeout } | undefined;
  private linger: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly deps: WorkerDeps;

  constructor(deps: WorkerDeps) {
    this.deps = deps;
    deps.limiter.onFree = () => {
      if (this.lanesSkipped) this.wake('runs');
    };
  }

  /** Whether the worker loop runs (started and not stopping). */
  get isRunning(): boolean {
    return this.running;
  }

  private get options(): WorkerOptions {
    return this.deps.options;
  }

  /** Something may be there: events stored, runs made due (by an operator, another instance, a freed destination). */
  wake(what: Wake | 'all' = 'all'): void {
    if (what !== 'runs') this.eventsPending = true;
    if (what !== 'events') this.runsDue = true;
    this.schedule();
  }

  /** A run of this worker will want attention at `at`: a wait's deadline, or a retry. */
  wakeAt(at: number, why: 'deadline' | 'retry'): void {
    if (why === 'deadline') this.deadlineAt = Math.min(this.deadlineAt ?? Infinity, at);
    else this.retries.add(at);
    this.schedule();
  }

  async start(): Promise<void> {
    this.running = true;
    await this.recoverDeadLocalOwners();
    this.unsubscribe = this.deps.store.subscribe((what) => this.wake(what));
    this.heartbeat = setInterval(() => {
      const ids = [...this.inFlight.keys()];
      if (ids.length === 0) return;
      this.deps.store.queue
        .heartbeat(this.owner, ids, this.deps.clock.now() + this.options.leaseMs)
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'lease heartbeat failed'));
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)));
    this.heartbeat.unref();
    this.poll = setInterval(() => this.pollNow(), this.options.pollMs);
    this.poll.unref();
    this.pollNow();
  }

  /** Stops claiming work and waits (up to `graceMs`) for the runs in flight. */
  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    clearInterval(this.poll);
    clearTimeout(this.linger);
    if (this.timer) clearTimeout(this.timer.handle);
    await Promise.allSettled([this.dispatching, this.claiming, this.expiring]);
    this.deps.limiter.cancelWaiting();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(this.inFlight.values()), timeout]);
    clearInterval(this.heartbeat);
  }

  /**
   * One pass of everything, whatever the wake-ups said: dispatch pending events, time out due waits,
   * start due runs (up to the free slots). Returns whether it found anything to do. Tests drive the
   * worker with this and an injected clock.
   */
  async tick(): Promise<boolean> {
    // A fired tick appended events: this tick dispatches them.
    const fired = ((await this.deps.scheduler?.check()) ?? 0) > 0;
    let busy = false;
    try {
      busy ||= (await this.deps.dispatcher.dispatchPending(dispatchBatch)).length > 0;
    } catch (error) {
      // The store is in trouble (an event that fails on its own is set aside instead): the next pass
      // tries again, and runs already created still get their turn below.
      this.deps.logger.warn({ err: error }, 'dispatch pass failed; retrying');
    }
    busy ||= (await this.deps.store.waits.expire(this.deps.clock.now(), expireBatch)).length > 0;
    const free = this.free();
    if (free > 0) busy ||= (await this.claim(free)) > 0;
    return busy || fired;
  }

  /** Runs ticks until nothing is due and no run is in flight (tests). */
  async drain(): Promise<void> {
    for (;;) {
      const busy = await this.tick();
      if (this.inFlight.size > 0) {
        await Promise.race(this.inFlight.values());
        continue;
      }
      if (!busy) return;
    }
  }

  /** Free slots. Runs waiting in the limiter for their destination hold none. */
  private free(): number {
    return this.options.concurrency - (this.inFlight.size - this.deps.limiter.waiting()) - this.offered;
  }

  /** Looks at what is due, once per turn of the event loop however many wake-ups came. */
  private schedule(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.work();
    });
  }

  private work(): void {
    if (!this.running) return;
    if (this.eventsPending && !this.dispatching) {
      this.dispatching = this.dispatchLoop().finally(() => {
        this.dispatching = undefined;
        this.schedule();
      });
    }
    if (this.runsDue && !this.claiming && this.free() > 0) this.claimSoon();
    const now = this.deps.clock.now();
    if (this.deadlineAt !== undefined && this.deadlineAt <= now && !this.expiring) {
      this.expiring = this.expireLoop().finally(() => {
        this.expiring = undefined;
        this.schedule();
      });
    }
    if (this.retries.takeDue(now)) {
      this.runsDue = true;
      this.schedule();
    }
    this.armTimer();
  }

  /** Claims now when enough slots are free (or nothing runs), else after a short linger. */
  private claimSoon(): void {
    const free = this.free();
    const busy = this.inFlight.size - this.deps.limiter.waiting();
    const waited = performance.now() - this.lastClaimAt;
    if (free * 4 >= this.options.concurrency || busy === 0 || waited >= claimLingerMs) {
      clearTimeout(this.linger);
      this.linger = undefined;
      this.claiming = this.claimLoop().finally(() => {
        this.claiming = undefined;
        this.schedule();
      });
    } else if (!this.linger) {
      this.linger = setTimeout(() => {
        this.linger = undefined;
        this.schedule();
      }, claimLingerMs - waited);
    }
  }

  private async dispatchLoop(): Promise<void> {
    while (this.running && this.eventsPending) {
      this.eventsPending = false;
      // Free slots go to the runs this pass creates, leased at creation, unless older runs wait in
      // the queue (they go first: a claim takes them).
      this.offered = this.runsDue || this.claiming ? 0 : Math.max(0, this.free());
      const { owner } = this;
      const offer = this.offered > 0 ? { owner, leaseMs: this.options.leaseMs, slots: this.offered, skipLanes: this.deps.limiter.saturated() } : undefined;
      try {
        const done = await this.deps.dispatcher.dispatchPending(dispatchBatch, offer);
        this.offered = 0;
        for (const d of done) for (const run of d.started ?? []) this.track(run);
        if (done.length >= dispatchBatch) this.eventsPending = true;
        const queued = done.some((d) => d.outcome && (d.outcome.created.length > (d.started?.length ?? 0) || d.outcome.resolved.length > 0));
        if (queued) this.wake('runs');
      } catch (error) {
        this.offered = 0;
        // The store is in trouble (an event that fails on its own is set aside instead): the poll
        // tries again.
        this.deps.logger.warn({ err: error }, 'dispatch pass failed; retrying');
        return;
      }
    }
  }

  private async claimLoop(): Promise<void> {
    while (this.running && this.runsDue) {
      const free = this.free();
      if (free <= 0) return;
      this.runsDue = false;
      try {
        // Fewer than asked: nothing more is claimable until something changes (see wake()).
        if ((await this.claim(free)) >= free) this.runsDue = true;
      } catch (error) {
        this.deps.logger.error({ err: error }, 'claiming runs failed; retrying');
        this.runsDue = true;
        return;
      }
      // A few free slots: wait for more runs to finish (claimSoon) rather than claim them one by one.
      if (this.free() * 4 < this.options.concurrency) return;
    }
  }

  /** Leases up to `free` due runs and starts them; returns how many. */
  private async claim(free: number): Promise<number> {
    const { store, clock, limiter } = this.deps;
    this.lastClaimAt = performance.now();
    // Runs of destinations at their cap are left in the queue, so a slow one cannot fill every slot.
    const skipLanes = limiter.saturated();
    this.lanesSkipped = skipLanes.length > 0;
    const claimed = await store.queue.claim({ owner: this.owner, now: clock.now(), leaseMs: this.options.leaseMs, limit: free, skipLanes });
    for (const run of claimed) this.track(run);
    return claimed.length;
  }

  private async expireLoop(): Promise<void> {
    const { store, clock, logger } = this.deps;
    this.deadlineAt = undefined;
    try {
      for (;;) {
        const expired = await store.waits.expire(clock.now(), expireBatch);
        if (expired.length > 0) this.wake('runs');
        if (expired.length < expireBatch) break;
      }
      const next = await store.waits.nextDeadline();
      if (next !== undefined) this.deadlineAt = Math.min(this.deadlineAt ?? Infinity, next);
    } catch (error) {
      logger.warn({ err: error }, 'timing out waits failed; retrying');
      this.deadlineAt = clock.now() + this.options.pollMs;
    }
  }

  /** One timer for the earliest known deadline or retry. */
  private armTimer(): void {
    const at = Math.min(this.deadlineAt ?? Infinity, this.retries.peek() ?? Infinity);
    if (at === Infinity || (this.timer && this.timer.at <= at)) return;
    if (this.timer) clearTimeout(this.timer.handle);
    const handle = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.min(Math.max(0, at - this.deps.clock.now()), 2 ** 31 - 1));
    handle.unref();
    this.timer = { at, handle };
  }

  /** The fallback: look for everything, and learn the times of waits and retries that other processes set. */
  private pollNow(): void {
    this.wake();
    const { store, logger } = this.deps;
    Promise.all([store.waits.nextDeadline(), store.queue.nextDue()]).then(
      ([deadline, due]) => {
        if (deadline !== undefined) this.wakeAt(deadline, 'deadline');
        if (due !== undefined) this.wakeAt(due, 'retry');
      },
      (err: unknown) => logger.warn({ err }, 'reading the next deadline and retry failed'),
    );
  }

  private track(run: ClaimedRun): void {
    const { logger } = this.deps;
    const done = traceRun(run, () => executeRun(run, this.owner, this.deps.engine))
      .then((result: ExecutionResult) => {
        logger.debug({ run: run.id, result }, `run ${result}`);
        // A dead run is announced by an event (hookline/run.dead) for dispatch.
        if (result === 'dead') this.eventsPending = true;
      })
      .catch((error: unknown) => {
        if (error instanceof LeaseLostError) logger.warn({ run: run.id }, error.message);
        else logger.error({ run: run.id, err: error }, 'run execution failed; it will be retried when its lease expires');
      })
      .finally(() => {
        this.inFlight.delete(run.id);
        this.schedule();
      });
    this.inFlight.set(run.id, done);
  }

  /** On start: runs leased by instances of this host that are gone are claimable at once. */
  private async recoverDeadLocalOwners(): Promise<void> {
    const { store, clock, logger } = this.deps;
    for (const owner of await store.queue.leaseOwners()) {
      if (!isDeadLocalOwner(owner, this.owner)) continue;
      const n = await store.queue.releaseOwner(owner, clock.now());
      if (n > 0) logger.info({ owner, runs: n }, 'took over the runs of a stopped instance');
    }
  }
}
