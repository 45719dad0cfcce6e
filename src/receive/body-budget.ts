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

  /**
   * Admission of a request's body, from its head: a reservation holding its declared length (a
   * chunked body's grows as it arrives), 'full' when that length does not fit now, or undefined when
   * there is nothing to reserve (no body, or one over `limit`, refused without being read).
   */
  admit(headers: Headers, limit: number): Reservation | 'full' | undefined {
    if (!hasBody(headers)) return undefined;
    const declared = declaredLength(headers);
    if (declared !== undefined && declared > limit) return undefined;
    const reservation = this.open();
    return declared === undefined || reservation.grow(declared) ? reservation : 'full';
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

type Headers = Record<string, string | string[] | undefined>;

/** The declared body length (Content-Length), or undefined when there is none (chunked, or no body). */
export function declaredLength(headers: Headers): number | undefined {
  const value = headers['content-length'];
  return typeof value === 'string' ? Number(value) : undefined;
}

export function hasBody(headers: Headers): boolean {
  const declared = declaredLength(headers);
  return declared === undefined ? headers['transfer-encoding'] !== undefined : declared > 0;
}
