import { randomBytes } from 'node:crypto';

/** A run id that sorts by creation time: "r" + 9 base-36 digits of milliseconds + 10 random hex. */
export function newRunId(now: number): string {
  return `r${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}
