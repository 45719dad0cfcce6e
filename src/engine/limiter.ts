/**
 * Caps the steps in flight to one destination (a connection, or an HTTP host), so that one slow
 * destination occupies a few worker slots, never all of them. A step over the cap waits here, in
 * arrival order, for a slot of its own destination; it holds no worker slot while it waits.
 */
export class DestinationLimiter {
  private readonly inFlight = new Map<string, number>();
  private readonly queues = new Map<string, Array<{ resolve: () => void; reject: (error: Error) => void }>>();
  private readonly perDestination: number;
  /** Called when a destination drops below its cap with nobody waiting: more of its runs may be claimed. */
  onFree: (destination: string) => void = () => {};

  constructor(perDestination: number) {
    this.perDestination = perDestination;
  }

  async acquire(destination: string): Promise<void> {
    const n = this.inFlight.get(destination) ?? 0;
    if (n < this.perDestination) {
      this.inFlight.set(destination, n + 1);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(destination) ?? [];
      queue.push({ resolve, reject });
      this.queues.set(destination, queue);
    });
  }

  release(destination: string): void {
    const next = this.queues.get(destination)?.shift();
    if (next) {
      next.resolve(); // the slot passes straight to the next in line
      return;
    }
    this.queues.delete(destination);
    const n = (this.inFlight.get(destination) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(destination);
    else this.inFlight.set(destination, n);
    this.onFree(destination);
  }

  /** Destinations at their cap: runs queued for them are not claimed until a slot frees. */
  saturated(): string[] {
    return [...this.inFlight].filter(([, n]) => n >= this.perDestination).map(([d]) => d);
  }

  /** Shutdown: every step still waiting for a slot gives up (its run goes back to the queue). */
  cancelWaiting(): void {
    for (const queue of this.queues.values()) for (const waiter of queue.splice(0)) waiter.reject(new ShutdownError());
    this.queues.clear();
  }

  /** Steps waiting here for a slot (they do not count against the worker's concurrency). */
  waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}

/** The worker is stopping: a step that has not started yet is handed back instead. */
export class ShutdownError extends Error {
  constructor() {
    super('the worker is stopping');
    this.name = 'ShutdownError';
  }
}
