/**
 * The times at which runs of this worker become due again (retries, and steps held by flow control),
 * each kept once, earliest first: when the earliest passes, the next is known without asking the
 * store. Keeping only the earliest would leave a run held for a rate slot a second later until the
 * next poll, and a slot used late is a slot lost.
 */
export class DueTimes {
  private readonly heap: number[] = [];
  private readonly known = new Set<number>();

  add(at: number): void {
    if (this.known.has(at)) return;
    this.known.add(at);
    const h = this.heap;
    h.push(at);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= h[i]!) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  /** The earliest time, if any. */
  peek(): number | undefined {
    return this.heap[0];
  }

  /** Removes every time up to `now`; returns whether there was one. */
  takeDue(now: number): boolean {
    let took = false;
    while (this.heap.length > 0 && this.heap[0]! <= now) {
      this.pop();
      took = true;
    }
    return took;
  }

  clear(): void {
    this.heap.length = 0;
    this.known.clear();
  }

  private pop(): void {
    const h = this.heap;
    this.known.delete(h[0]!);
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]! < h[m]!) m = l;
      if (r < h.length && h[r]! < h[m]!) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
