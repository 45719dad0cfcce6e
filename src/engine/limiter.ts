/**
 * Caps the steps in flight to one destination (a connection, or an HTTP host), so that one slow
 * destination occupies a few worker slots, never all of them.
 */
export class DestinationLimiter {
  private readonly inFlight = new Map<string, number>();
  private readonly perDestination: number;
  constructor(perDestination: number) {
    this.perDestination = perDestination;
  }

  tryAcquire(destination: string): boolean {
    const n = this.inFlight.get(destination) ?? 0;
    if (n >= this.perDestination) return false;
    this.inFlight.set(destination, n + 1);
    return true;
  }

  release(destination: string): void {
    const n = (this.inFlight.get(destination) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(destination);
    else this.inFlight.set(destination, n);
  }
}
