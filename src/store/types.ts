/**
 * The storage port. The receiver, worker and engine speak only to these interfaces;
 * `sqlite/` and `postgres/` implement them with the same file names, and one conformance
 * suite (test/store) runs against both.
 */

export interface NewEvent {
  source: string;
  eventId: string;
  type: string;
  /** Milliseconds since the epoch; also "now" for the dedup TTL. */
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
  status: 'received' | 'dispatched';
}

export type EventSummary = Omit<EventRecord, 'body' | 'headers'>;

export type ReceiveResult = { duplicate: false; seq: number } | { duplicate: true };

export interface EventFilter {
  source?: string | undefined;
  type?: string | undefined;
  /** Newest first; at most this many. */
  limit?: number | undefined;
  /** Only events with a smaller seq (paging). */
  before?: number | undefined;
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
  count(): Promise<number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly events: EventStore;
  /** Resolves when the store can be read and written. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
