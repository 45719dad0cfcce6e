import type { Announcement, EventRecord } from './inbox.ts';

/**
 * Dispatch: the router's port. Stored events are taken in dispatch order and what each causes —
 * transcript messages, runs, resolved waits — is applied in one transaction.
 */

/**
 * A message of a muro conversation. Both ids come from event data, so they are index keys
 * (`indexKey` in index-key.ts): a short printable id as it is, any other as a digest.
 */
export interface TranscriptMessage {
  conversationId: string;
  messageId: string;
  /** seq of the event that carried the message, then its place in that event: the transcript's order. */
  eventSeq: number;
  position: number;
  /** The message object as the source sent it. */
  message: unknown;
}

export interface NewRun {
  id: string;
  recipe: string;
  /** The hash of the recipe version it starts with (recorded in recipe_versions beforehand). */
  version?: string | undefined;
  /** Value of the recipe's `key` expression, if it has one, as an index key (see index-key.ts). */
  key?: string | undefined;
  /** queued normally; dead when the trigger's `if` or `key` failed to evaluate (error says why). */
  status: 'queued' | 'dead';
  /** The destination its first step calls (see RunRecord.lane). */
  lane?: string | undefined;
  error?: string | undefined;
  /**
   * Created already claimed (`running`, leased to `owner` until `until`): the dispatching instance's
   * worker has a free slot for it and starts it without a claim.
   */
  lease?: { owner: string; until: number } | undefined;
}

export interface WaitResolution {
  runId: string;
  stepId: string;
  /** The wait_for step's output: { timed_out: false, event } */
  output: unknown;
}

/** Everything one event causes, applied atomically by DispatchStore.commit. */
export interface DispatchPlan {
  seq: number;
  generation: number;
  now: number;
  messages: TranscriptMessage[];
  runs: NewRun[];
  resolutions: WaitResolution[];
  /** Events to append with the runs (hookline/run.dead of runs dead at birth). */
  announce?: Announcement[] | undefined;
}

export interface DispatchOutcome {
  /** Runs created. */
  created: string[];
  /** Runs not created because a live run holds the key; recorded as `skipped` runs. */
  keyBusy: string[];
  /** Waits resolved by this event (a wait already resolved by its timer is not among them). */
  resolved: string[];
}

export interface DispatchStore {
  /** Events not yet dispatched, in dispatch order. */
  pending(limit: number): Promise<EventRecord[]>;
  /**
   * In one transaction, for each plan in order: append transcript messages (ignoring ids already
   * there), create the runs (a run whose key is held by a live run becomes `skipped`), resolve waits
   * that are still waiting (step output stored, run queued), append its announcements, and mark the
   * event dispatched. A plan for
   * an event that is no longer `received` (another instance dispatched it) changes nothing and its
   * outcome has empty lists. One outcome per plan, in the same order.
   */
  commit(plans: DispatchPlan[]): Promise<DispatchOutcome[]>;
  /**
   * Mutual exclusion between dispatching and registering waits, across every instance that shares
   * the store, so that an event and a new wait_for can never miss each other.
   */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Sets a received event aside: status `failed` with the error, out of pending(), so that dispatch
   * goes on with the next events. False if it is no longer received in that generation.
   */
  setAside(event: { seq: number; generation: number; error: string }): Promise<boolean>;
}
