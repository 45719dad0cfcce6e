import { startEmulator, type Emulator, type RecordedRequest } from '../emulators/emulator.ts';

export interface Destination extends Emulator {
  /** Requests wait (unanswered) until `release()`; `arrived` resolves as each one comes in. */
  hold(): void;
  release(): void;
  /** Resolves at the next request to arrive (answered or not). */
  nextArrival(): Promise<RecordedRequest>;
  /** Resolves once `count` requests have arrived in all (answered, held or not). */
  arrived(count: number, timeoutMs?: number): Promise<void>;
}

/** A plain JSON HTTP destination for `http` steps: records requests, scriptable failures, can hold answers. */
export async function startDestination(): Promise<Destination> {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const arrivals: Array<(r: RecordedRequest) => void> = [];
  const counters = new Set<{ count: number; resolve: () => void }>();
  let arrivedSoFar = 0;
  const emulator = await startEmulator({
    name: 'destination',
    handler: async (req) => {
      arrivedSoFar++;
      for (const c of counters) {
        if (arrivedSoFar >= c.count) {
          counters.delete(c);
          c.resolve();
        }
      }
      arrivals.splice(0).forEach((resolve) => resolve(req));
      if (gate) await gate;
      return { status: 200, body: { ok: true, path: req.path } };
    },
    failureResponse: (failure) => ({ status: failure.status, headers: failure.headers ?? {}, body: failure.body ?? { error: `scripted ${failure.status}` } }),
  });
  return Object.assign(emulator, {
    hold: () => {
      gate ??= new Promise<void>((resolve) => (open = resolve));
    },
    release: () => {
      open?.();
      gate = undefined;
    },
    nextArrival: () => new Promise<RecordedRequest>((resolve) => arrivals.push(resolve)),
    arrived: (count: number, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (arrivedSoFar >= count) return resolve();
        const timer = setTimeout(() => {
          counters.delete(waiter);
          reject(new Error(`destination: ${arrivedSoFar} of ${count} requests arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        counters.add(waiter);
      }),
  });
}
