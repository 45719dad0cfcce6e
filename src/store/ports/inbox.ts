/**
 * The receive inbox: the receiver's port. Events go in here, deduplicated by (source, event id),
 * durable before the receiver answers. Times are milliseconds since the epoch, passed in by the
 * caller (the injected clock), never read by the store itself.
 */

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
  /** Dispatch order: increases with every stored event, in the order the events were committed. */
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

/**
 * An event hookline appends itself (hookline/run.dead), in the transaction of what it announces,
 * deduplicated by its id like a received one.
 */
export interface Announcement {
  event: NewEvent;
  dedupTtlMs: number;
}

export type ReceiveResult = { duplicate: false; seq: number } | { duplicate: true };

export interface Inbox {
  /**
   * In one transaction: remember (source, eventId) until receivedAt + ttl and persist the event.
   * Resolves only after the commit; rejects with StoreUnavailableError when it cannot write.
   * An id seen within its TTL is a duplicate and nothing is written.
   */
  receive(event: NewEvent, ttlMs: number): Promise<ReceiveResult>;
  /** Deletes up to `limit` expired seen-event records; returns how many. */
  purgeSeen(now: number, limit: number): Promise<number>;
}
