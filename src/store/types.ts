/**
 * The storage port. The receiver, dispatcher, worker and engine speak only to these interfaces;
 * `sqlite/` and `postgres/` implement them with the same file names, and one conformance suite
 * (test/store) runs against both. Times are milliseconds since the epoch, always passed in by the
 * caller (the injected clock), never read by the store itself.
 */

// ---------------------------------------------------------------- events

export interface NewEvent {
  source: string;
  eventId: string;
  type: string;
  /** Also "now" for the dedup TTL. */
  receivedAt: number;
  /** Request headers that are safe to keep (no signatures, no credentials). */
  headers: Record<string, string>;
  /** The event as JSON text (MERU attachments replaced by references to files on disk). */
  body: string;
  test: boolean;
}

export interface EventRecord extends NewEvent {
  /** Receive order: increases with every stored event. */
  seq: number;
  /**
   * received: waiting for the dispatcher; dispatched: state updated and runs created; failed: its
   * dispatch failed for a reason of its own, so it was set aside (see `dispatchError`) and dispatch
   * went on with the next events. Replaying it dispatches it again.
   */
  status: EventStatus;
  /** 0 for the original delivery; each replay adds one (runs of a replay carry it too). */
  generation: number;
  /** Why its last dispatch failed; null once it is dispatched. */
  dispatchError: string | null;
}

export type EventStatus = 'received' | 'dispatched' | 'failed';

export type EventSummary = Omit<EventRecord, 'body' | 'headers'>;

export type ReceiveResult = { duplicate: false; seq: number } | { duplicate: true };

export interface EventFilter {
  source?: string | undefined;
  /** Exact type or a glob (conversation.*). */
  type?: string | undefined;
  /** Newest first; at most this many (default 50). */
  limit?: number | undefined;
  /** Only events with a smaller seq (paging). */
  before?: number | undefined;
  /** Matches the event id exactly, or any text inside the body (an email address, say). */
  search?: string | undefined;
}

export interface EventStore {
  /**
   * In one transaction: remember (source, eventId) until receivedAt + ttl and persist the event.
   * Resolves only after the commit; rejects with StoreUnavailableError when it cannot write.
   * An id seen within its TTL is a duplicate and nothing is written.
   */
  receive(event: NewEvent, ttlMs: number): Promise<ReceiveResult>;
  /** Deletes up to `limit` expired seen-event records; returns how many. */
  purgeSeen(now: number, limit: number): Promise<number>;
  list(filter: EventFilter): Promise<EventSummary[]>;
  /** Every stored receipt of this event id (a TTL-expired id can be received again), newest first. */
  findById(eventId: string, source?: string): Promise<EventRecord[]>;
  getBySeq(seq: number): Promise<EventRecord | undefined>;
  /** Events of `source` received after `afterSeq`, oldest first (the look-back of wait_for). */
  after(afterSeq: number, source: string, limit: number): Promise<EventRecord[]>;
  /** Sends an event through the recipes again: back to `received`, generation + 1. False if unknown. */
  replay(seq: number): Promise<boolean>;
  count(): Promise<number>;
}

// ---------------------------------------------------------------- dispatch

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

export type RunStatus = 'queued' | 'running' | 'retrying' | 'waiting' | 'done' | 'dead' | 'skipped';
/** A live run holds its key: no second live run of the same recipe and key. */
export const liveStatuses: readonly RunStatus[] = ['queued', 'running', 'retrying', 'waiting'];

export interface NewRun {
  id: string;
  recipe: string;
  /** Value of the recipe's `key` expression, if it has one, as an index key (see index-key.ts). */
  key?: string | undefined;
  /** queued normally; dead when the trigger's `if` or `key` failed to evaluate (error says why). */
  status: 'queued' | 'dead';
  /** The destination its first step calls (see RunRecord.lane). */
  lane?: string | undefined;
  error?: string | undefined;
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
  /** Events not yet dispatched, in receive order. */
  pending(limit: number): Promise<EventRecord[]>;
  /**
   * In one transaction, for each plan in order: append transcript messages (ignoring ids already
   * there), create the runs (a run whose key is held by a live run becomes `skipped`), resolve waits
   * that are still waiting (step output stored, run queued), and mark the event dispatched. A plan for
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
  setAside(seq: number, generation: number, error: string): Promise<boolean>;
  /** A set-aside event back to received, in the same generation: dispatched as if for the first time. False if it was not set aside. */
  retry(seq: number): Promise<boolean>;
  /** How dispatch stands, for /readyz and metrics. */
  backlog(): Promise<DispatchBacklog>;
}

export interface DispatchBacklog {
  /** receivedAt of the oldest event waiting for its first dispatch (replays left out: they keep their old time). */
  oldestPending: number | undefined;
  /** Events set aside (status failed). */
  setAside: number;
}

// ---------------------------------------------------------------- runs

export interface RunRecord {
  id: string;
  eventSeq: number;
  recipe: string;
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

/** A run claimed by a worker, with what it needs to continue where it stopped. */
export interface ClaimedRun extends RunRecord {
  event: EventRecord;
  steps: StepRecord[];
}

/** Proof that a worker holds a run; every write with it fails with LeaseLostError once it does not. */
export interface Lease {
  runId: string;
  owner: string;
}

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
  status: 'waiting' | 'matched' | 'timed_out';
  /** The run's trigger event ($trigger in the match expression). */
  trigger: EventRecord;
}

export interface RunFilter {
  status?: RunStatus | undefined;
  recipe?: string | undefined;
  limit?: number | undefined;
  /** Only runs with an id smaller than this (paging; ids sort by creation). */
  before?: string | undefined;
}

export interface RunDetail extends RunRecord {
  steps: StepRecord[];
  attempts: AttemptRecord[];
}

export type RetryResult = 'retried' | 'not_found' | 'not_dead' | 'key_busy';

export interface RunStore {
  /**
   * Leases up to `limit` runs that are due: queued or retrying with availableAt <= now, or running
   * with an expired lease (a dead worker's). Oldest first; runs whose lane is in `skipLanes` are left
   * for later. Each is `running`, owned until now + leaseMs.
   */
  claim(owner: string, now: number, leaseMs: number, limit: number, skipLanes?: readonly string[]): Promise<ClaimedRun[]>;
  /** Extends the leases this owner still holds. */
  heartbeat(owner: string, runIds: string[], leaseUntil: number): Promise<void>;
  /**
   * Records a finished (done or skipped) step with its attempt, before the next step starts;
   * `nextLane` is the lane of the step that comes next.
   */
  saveStep(lease: Lease, step: StepRecord, attempt: AttemptRecord | undefined, now: number, nextLane?: string | null): Promise<void>;
  /** The run waits (wait_for): a `waiting` step row, a wait with its deadline, the lease released; `nextLane` as in saveStep. */
  park(lease: Lease, wait: NewWait, now: number, nextLane?: string | null): Promise<void>;
  /** A failed attempt that will be retried at `availableAt`. */
  retryLater(lease: Lease, attempt: AttemptRecord, availableAt: number, error: string, now: number): Promise<void>;
  /** Gives the run back untouched, due at `availableAt` (throttling, shutdown). */
  release(lease: Lease, availableAt: number, now: number): Promise<void>;
  /**
   * The run ends: done, or dead with the error (and the failed attempt, if one). `step`, when given,
   * is the last step's record, stored in the same transaction (saveStep and finish in one commit).
   */
  finish(lease: Lease, status: 'done' | 'dead', error: string | undefined, attempt: AttemptRecord | undefined, now: number, step?: StepRecord): Promise<void>;
  /** Dead letter back to the queue, attempts reset; finished steps stay finished. */
  retry(runId: string, now: number): Promise<RetryResult>;
  /** Every dead run that can be retried; returns how many were. */
  retryAllDead(now: number): Promise<number>;
  list(filter: RunFilter): Promise<RunRecord[]>;
  get(runId: string): Promise<RunDetail | undefined>;
  forEvent(eventSeq: number): Promise<RunDetail[]>;
  counts(): Promise<Partial<Record<RunStatus, number>>>;
  /** When the next queued or retrying run becomes due (the earliest availableAt), to sleep until then. */
  nextDue(): Promise<number | undefined>;
  /** Owners that hold `running` runs (to recognise dead local instances). */
  leaseOwners(): Promise<string[]>;
  /** Makes a dead owner's running runs claimable at once; returns how many. */
  releaseOwner(owner: string, now: number): Promise<number>;
}

export interface WaitStore {
  /** Waits still waiting for events of this source, with their runs' trigger events. */
  waiting(source: string): Promise<WaitRecord[]>;
  /**
   * Times out up to `limit` waits whose deadline has passed: step output { timed_out: true },
   * run queued. Exactly once, even with several instances sweeping at the same moment.
   */
  expire(now: number, limit: number): Promise<Array<{ runId: string; stepId: string }>>;
  /** The earliest deadline still waiting, to know when to sweep next. */
  nextDeadline(): Promise<number | undefined>;
  /** Resolves one wait now (the look-back found its event). False if it was not waiting. */
  resolve(resolution: WaitResolution, now: number): Promise<boolean>;
}

export interface ConversationStore {
  /** A conversation's messages in receive order, by the index key of its id. */
  transcript(conversationKey: string): Promise<TranscriptMessage[]>;
}

export type Row = Record<string, string | number | boolean | null>;

export interface TableStore {
  /**
   * Inserts a row into a named table, creating the table (and any new column) on first use.
   * The idempotency key makes a retried insert a no-op; returns false then.
   */
  insert(table: string, row: Row, idempotencyKey: string, now: number): Promise<boolean>;
  /** Newest rows first. */
  rows(table: string, limit: number): Promise<Array<Record<string, unknown>>>;
}

// ---------------------------------------------------------------- tickets

/** An attachment as the stored event describes it (see domain/attachments.ts). */
export interface TicketAttachment {
  filename: string;
  contentType: string;
  size: number;
  /** Null when it was not saved (too large, spam, not base64). */
  sha256: string | null;
  saved: boolean;
  reason?: string | undefined;
  contentId?: string | null | undefined;
}

export interface TicketMessageInput {
  /** A retried step records nothing twice: the message with this key already exists. */
  idempotencyKey: string;
  eventSeq: number;
  receivedAt: number;
  /** Sender address (the customer); compared lower-cased. */
  from: string;
  fromName?: string | null | undefined;
  /** Addresses in its To and Cc: with the sender, they take part in the ticket it lands on from then on. */
  recipients: string[];
  subject: string;
  text: string;
  html?: string | null | undefined;
  /** The email's Message-ID, and the ids it replies to (In-Reply-To, then References). */
  messageId?: string | null | undefined;
  replyTo: string[];
  /** A ticket number written in the subject, like [#T-12]. */
  ticketNumber?: number | undefined;
  attachments: TicketAttachment[];
}

export interface TicketResult {
  ticketId: number;
  customerId: number;
  messageId: number;
  /** A new ticket was opened (false: appended to an existing one). */
  created: boolean;
  /** This input was recorded before (same idempotency key): nothing changed. */
  duplicate: boolean;
  /** How the threading rule placed it, e.g. `refused: sender x is not a participant of T-1 (subject [#T-1])`. */
  threading: string;
}

/**
 * A ticket an email points at — the number in its subject, a stored message it replies to, a stored
 * message that replies to it — with who takes part in that ticket: what the threading rule decides from.
 */
export interface TicketCandidate {
  ticketId: number;
  via: 'subject' | 'reply' | 'replied-by';
  /** `[#T-12]`, or the Message-ID that links the email and the ticket. */
  ref: string;
  /** The ticket's customer and every address recorded as taking part in it: lower-cased, sorted. */
  participants: string[];
}

/** The ticket to append to (undefined: open a new one), and why, to record with the message. */
export interface ThreadingDecision {
  ticketId: number | undefined;
  threading: string;
}

/** Decides where an email goes from its sender (lower-cased) and its candidates (see domain/ticket-threading.ts). */
export type ThreadingRule = (sender: string, candidates: TicketCandidate[]) => ThreadingDecision;

export interface TicketSummary {
  id: number;
  subject: string;
  status: string;
  customer: { id: number; email: string; name: string | null };
  messageCount: number;
  createdAt: number;
  updatedAt: number;
}

export interface TicketMessage {
  id: number;
  eventSeq: number;
  receivedAt: number;
  from: string;
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  /** How it was threaded (null for messages recorded before this was kept). */
  threading: string | null;
  attachments: TicketAttachment[];
}

export interface TicketDetail extends TicketSummary {
  /** Who may append to it by replying: its customer and the addresses recorded as taking part, sorted. */
  participants: string[];
  messages: TicketMessage[];
}

export interface TicketStore {
  /**
   * In one transaction: get or create the customer by sender address; gather the tickets the email
   * points at, in this order — the number in its subject, the stored messages it replies to (in the
   * order of its In-Reply-To/References), the stored messages that already reply to it (a reply
   * that arrived first) — each with its participants, and let `thread` choose among them (or a new
   * ticket); append the message with its attachments' metadata and the decision's reason, and add
   * the sender and recipients to the ticket's participants. Messages are listed in receive order
   * whatever the order of recording, and a ticket takes its subject from its earliest message.
   */
  record(input: TicketMessageInput, now: number, thread: ThreadingRule): Promise<TicketResult>;
  /** Newest activity first. `search` matches subject or customer email. */
  list(filter: { status?: string | undefined; search?: string | undefined; limit?: number | undefined }): Promise<TicketSummary[]>;
  get(id: number): Promise<TicketDetail | undefined>;
}

/** What another instance may have changed: new events to dispatch, or runs that became due. */
export type Wake = 'events' | 'runs';

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly events: EventStore;
  readonly dispatch: DispatchStore;
  readonly runs: RunStore;
  readonly waits: WaitStore;
  readonly conversations: ConversationStore;
  readonly tables: TableStore;
  readonly tickets: TicketStore;
  /**
   * Calls `listener` when another instance stored events or made runs due (Postgres LISTEN/NOTIFY),
   * so idle workers wake at once instead of at their next poll. SQLite, owned by one process, never
   * calls it. Returns the unsubscribe function.
   */
  subscribe(listener: (what: Wake) => void): () => void;
  /** Resolves when the store can be written: it updates a one-row table (SELECT 1 succeeds on a full or read-only store). */
  ping(): Promise<void>;
  /**
   * What /readyz reports of the store besides "it answers": where it is and its connections
   * (never a password). Optional: a backend may have nothing to add.
   */
  describe?(): Record<string, unknown>;
  close(): Promise<void>;
}
