/**
 * The bytes of request bodies being read at once, across all requests (PRODUCT §1 rule 0): what a
 * client without a secret can make hookline hold. A request reserves its declared Content-Length
 * before a byte of its body is read, or, when chunked, each chunk as it arrives; what does not fit
 * is refused. A reservation is held until the request is answered (or its connection is gone), so
 * it also covers the time its body spends being verified, parsed and stored.
 */
export class BodyBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /** An empty reservation for one request. */
  open(): Reservation {
    let held = 0;
    let released = false;
    return {
      grow: (bytes) => {
        if (released || this.#used + bytes > this.limit) return false;
        this.#used += bytes;
        held += bytes;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#used -= held;
        held = 0;
      },
    };
  }
}

export interface Reservation {
  /** Takes `bytes` more from the budget; false (and nothing taken) when they do not fit. */
  grow(bytes: number): boolean;
  /** Gives everything back; safe to call more than once. */
  release(): void;
}
