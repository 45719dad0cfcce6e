import type { EventRecord } from './inbox.ts';

/**
 * Waits and timers: wait_for steps waiting for an event or their deadline. The router reads the
 * waits an event may answer, the engine looks back over events that arrived before a wait was
 * registered, the worker times out due waits.
 */

export interface NewWait {
  stepId: string;
  /** Source and type glob of the events that may resolve it, e.g. muro + message.created */
  source: string;
  type: string;
  deadline: number;
}

export interface WaitRecord extends NewWait {
  runId: string;
  recipe: string;
  /** The recipe version its run started with (null: the version in force). */
  recipeVersion: string | null;
  status: 'waiting' | 'matched' | 'timed_out';
  /** The run's trigger event ($trigger in the match expression). */
  trigger: EventRecord;
}

export interface WaitStore {
  /** Waits still waiting for events of this source, with their runs' trigger events, oldest first. */
  waiting(source: string): Promise<WaitRecord[]>;
  /**
   * Events dispatched after the event `after` (its seq), in dispatch order, of `source` (undefined:
   * of every source): the look-back of wait_for.
   */
  lookBack(query: { after: number; source?: string | undefined; limit: number }): Promise<EventRecord[]>;
  /**
   * Times out up to `limit` waits whose deadline has passed: step output { timed_out: true },
   * run queued. Exactly once, even with several instances sweeping at the same moment.
   */
  expire(now: number, limit: number): Promise<Array<{ runId: string; stepId: string }>>;
  /** The earliest deadline still waiting, to know when to sweep next. */
  nextDeadline(): Promise<number | undefined>;
}
