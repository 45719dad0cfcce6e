/**
 * Cooperative time slices for expression evaluation, shared by every evaluation in the process.
 *
 * JSONata evaluates through a chain of promises: with an `await` at every step it still never lets
 * the event loop turn (promise callbacks all run before the next I/O event), so one long evaluation
 * would hold up acknowledgements, /healthz and every other request until it ended. JSONata awaits
 * its `__evaluate_entry` hook before every step; there, `checkpoint()` lets a step run while the
 * current slice lasts and otherwise parks the evaluation until a later turn of the event loop.
 *
 * A slice opens at the first step after a turn and closes at the next turn (a setImmediate), so
 * all evaluations together run at most about `sliceMs` between two turns. Parked evaluations are
 * resumed one per turn, in order, so none starves.
 */
export const sliceMs = 3;

let sliceOpen = false;
let sliceStart = 0;
let closeScheduled = false;
const parked: Array<() => void> = [];

/** Before each evaluation step: nothing to wait for, or a promise resolved at the evaluation's turn. */
export function checkpoint(): Promise<void> | undefined {
  const now = performance.now();
  if (!sliceOpen) {
    sliceOpen = true;
    sliceStart = now;
    scheduleClose();
    return undefined;
  }
  if (now - sliceStart < sliceMs) return undefined;
  return new Promise((resolve) => {
    parked.push(resolve);
    scheduleClose();
  });
}

/** After an evaluation ends: the rest of the slice goes to the next parked one, not to waste. */
export function handOff(): void {
  if (sliceOpen && parked.length > 0 && performance.now() - sliceStart < sliceMs) parked.shift()!();
}

function scheduleClose(): void {
  if (closeScheduled) return;
  closeScheduled = true;
  setImmediate(closeSlice);
}

function closeSlice(): void {
  closeScheduled = false;
  sliceOpen = false;
  const next = parked.shift();
  // Its first step opens the slice of this turn; the others wait for the turns after.
  next?.();
  if (parked.length > 0) scheduleClose();
}
