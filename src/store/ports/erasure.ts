/**
 * Erasing one person's data on request (`hookline forget`, POST /admin/forget), and the audit of
 * what was erased. The store finds and deletes in ONE transaction; what it cannot know by itself —
 * which conversation an event belongs to, an operator-configured expression — the caller passes in.
 */

/** A conversation of the person: its source, its id as the event carries it, and its index key. */
export interface ConversationRef {
  source: string;
  id: string;
  key: string;
}

export interface ErasureRequest {
  /** The address, lower-cased and checked (see lifecycle/address.ts). */
  address: string;
  /** The pattern that finds the address in text (case-insensitive, not inside a longer address). */
  pattern: string;
  /** Conversations the caller found in the events that mention the address. */
  conversations: ConversationRef[];
  /** Who asked: the CLI user, or `admin` for the admin API. */
  requestedBy: string;
  /** An opaque id for the audit entry. */
  requestId: string;
  now: number;
  /** Count only: the transaction is rolled back and no audit entry is written. */
  dryRun: boolean;
}

/** Rows erased per kind; `tables` per `store` table. */
export interface ErasureCounts {
  events: number;
  runs: number;
  steps: number;
  attempts: number;
  waits: number;
  transcript_messages: number;
  tickets: number;
  ticket_messages: number;
  ticket_participants: number;
  attachments: number;
  customers: number;
  tables: Record<string, number>;
  /** Attachment files no longer referenced by anything kept (deleted after the commit). */
  files: number;
}

export interface ErasureResult {
  counts: ErasureCounts;
  /** SHA-256 of the attachment files to delete now that nothing kept refers to them. */
  files: string[];
}

/** An audit entry: who, when, how many rows — never the address nor anything erased. */
export interface ErasureRecord {
  id: string;
  requestedBy: string;
  requestedAt: number;
  counts: ErasureCounts;
}

export interface ErasureStore {
  /** Events that mention the address (for the caller to find their conversations): seq, source, body. */
  eventsMentioning(pattern: string, address: string): Promise<Array<{ seq: number; source: string; body: string }>>;
  erase(request: ErasureRequest): Promise<ErasureResult>;
  /** Audit entries, newest first. */
  erasures(limit: number): Promise<ErasureRecord[]>;
}
