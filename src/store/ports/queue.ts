import type { Announcement, EventRecord } from './inbox.ts';
import type { NewWait } from './waits.ts';

/**
 * The run queue: the worker's and the engine's port. Runs are claimed with a lease; every write
 * that follows checks the lease, so a run taken over by another worker is never written twice.
 */

export type RunStatus = 'queued' | 'running' | 'retrying' | 'waiting' | 'done' | 'dead' | 'skipped';
/** A live run holds its key: no second live run of the same recipe and key. */
export const liveStatuses: readonly RunStatus[] = ['queued', 'running', 'retrying', 'waiting'];

export interface RunRecord {
  id: string;
  eventSeq: number;
  recipe: string;
  /** The hash of the recipe version it started with (recipe_versions keeps its source); null for runs older than versions. */
  recipeVersion: string | null;
  key: string | null;
  generation: number;
  status: RunStatus;
  /**
   * The destination (a connection, or an HTTP host) its next step calls. A worker whose own cap for
   * that destination is reached does not claim the run, so a slow destination holds no worker slots
   * beyond its cap. Null when unknown; such runs are always claimable.
   */
  lane: string | null;
  /** Failed attempts of the current step since its last success. */
  attempt: number;
  availableAt: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  error: string | null;
  /**
   * Why a queued or retrying run waits besides its time (flow control): `rate:<connection>` (its
   * slot of the connection's rate is at availableAt), `circuit:<connection>` (the connection's
   * circuit is open). Null otherwise; cleared by the run's next write.
   */
  hold?: string | null;
}

export type StepStatus = 'done' | 'skipped' | 'waiting';

export interface StepRecord {
  runId: string;
  stepId: string;
  status: StepStatus;
  /** What later steps see as $steps.<id>. */
  output: unknown;
  startedAt: number;
  finishedAt: number | null;
}

export interface AttemptRecord {
  runId: string;
  stepId: string;
  /** 1-based, per step. */
  attempt: number;
  startedAt: number;
  durationMs: number;
  outcome: 'ok' | 'skipped' | 'retry' | 'failed';
  statusCode?: number | undefined;
  error?: string | undefined;
  /** What was sent (credentials removed) and what came back (bodies truncated). */
  request?: unknown;
  response?: unknown;
}

/** A run claimed by a worker, with what it needs to continue where it stopped; `updatedAt` is the claim's time. */
export interface ClaimedRun extends RunRecord {
  event: EventRecord;
  steps: StepRecord[];
  /** The event as expressions see it, when whoever handed the run over had it parsed already (dispatch). */
  view?: Record<string, unknown> | undefined;
}

/** Proof that a worker holds a run; every write with it fails with LeaseLostError once it does not. */
export interface Lease {
  runId: string;
  owner: string;
}

export interface ClaimRequest {
  owner: string;
  now: number;
  leaseMs: number;
  /** At most this many runs (the worker's free slots). */
  limit: number;
  /** Destinations at their cap: their runs are left for later. */
  skipLanes?: readonly string[] | undefined;
}

/**
 * The lane the run moves to once this write is stored: the lane of its next step. `undefined` keeps
 * the run's lane as it is; null clears it.
 */
type NextLane = { nextLane?: string | null | undefined };

export type SaveStep = NextLane & { step: StepRecord; attempt?: AttemptRecord | undefined; now: number };
export type Park = NextLane & { wait: NewWait; now: number };
export interface RetryLater {
  attempt: AttemptRecord;
  availableAt: number;
  error: string;
  now: number;
}
export interface Release {
  availableAt: number;
  now: number;
}
/** The run waits for flow control without spending an attempt (see RunQueue.hold). */
export interface Hold {
  /** `rate:<connection>` or `circuit:<connection>`. */
  reason: string;
  availableAt: number;
  now: number;
  /** The failed attempt that opened the circuit or the failed probe, recorded without counting against the retries. */
  attempt?: AttemptRecord | undefined;
}
export interface Finish {
  status: 'done' | 'dead';
  error?: string | undefined;
  /** The attempt that ended it (a failed one for dead, the last step's for done), if any. */
  attempt?: AttemptRecord | undefined;
  /** The last step's record, stored in the same transaction (saveStep and finish in one commit). */
  step?: StepRecord | undefined;
  now: number;
  /** An event appended in the same transaction (hookline/run.dead), only if the lease is still held. */
  announce?: Announcement | undefined;
}

export interface RunQueue {
  /**
   * Leases up to `limit` runs that are due: queued or retrying with availableAt <= now, or running
   * with an expired lease (a dead worker's). Oldest first; runs whose lane is in `skipLanes` are left
   * for later. Each is `running`, owned until now + leaseMs.
   */
  claim(request: ClaimRequest): Promise<ClaimedRun[]>;
  /** Extends the leases this owner still holds. */
  heartbeat(owner: string, runIds: readonly string[], leaseUntil: number): Promise<void>;
  /** Records a finished (done or skipped) step with its attempt, before the next step starts. */
  saveStep(lease: Lease, save: SaveStep): Promise<void>;
  /** The run waits (wait_for): a `waiting` step row, a wait with its deadline, the lease released. */
  park(lease: Lease, park: Park): Promise<void>;
  /** A failed attempt that will be retried at `availableAt`. */
  retryLater(lease: Lease, retry: RetryLater): Promise<void>;
  /** Gives the run back untouched, due at `availableAt` (throttling, shutdown). */
  release(lease: Lease, release: Release): Promise<void>;
  /** Gives the run back due at `availableAt`, held by flow control (`reason`); its attempt count stays. */
  hold(lease: Lease, hold: Hold): Promise<void>;
  /** The run ends: done, or dead with the error (and the failed attempt, if one). */
  finish(lease: Lease, finish: Finish): Promise<void>;
  /** When the next queued or retrying run becomes due (the earliest availableAt), to sleep until then. */
  nextDue(): Promise<number | undefined>;
  /** Owners that hold `running` runs (to recognise dead local instances). */
  leaseOwners(): Promise<string[]>;
  /** Makes a dead owner's running runs claimable at once; returns how many. */
  releaseOwner(owner: string, now: number): Promise<number>;
}
