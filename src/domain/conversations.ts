import { indexKey } from '../store/index-key.ts';
import type { ConversationRecords, TranscriptMessage } from '../store/types.ts';

export interface Transcript {
  id: string;
  /** The messages in receive order, as the source sent them. */
  messages: unknown[];
}

/** Reads a value out of event data (a compiled expression); it may throw, which counts as "nothing". */
export type Extract = (value: unknown) => Promise<unknown>;

/**
 * Where the conversation and its messages sit in an event of a source that carries conversations
 * (muro): configurable expressions (sources.<name>.transcript), because muro does not publish that
 * shape. The composition root compiles them; the domain only calls them.
 */
export interface TranscriptRules {
  /** The conversation id, from the event. */
  conversationId: Extract;
  /** The message, or list of messages, an event carries. */
  messages: Extract;
  /** A message's id, from the message. */
  messageId: Extract;
}

/** Conversation transcripts, of the sources whose preset carries conversations. */
export class Conversations {
  private readonly rules: ReadonlyMap<string, TranscriptRules>;
  private readonly store: ConversationRecords;

  /** `rules`: by source name, for the sources that have conversations. */
  constructor(rules: ReadonlyMap<string, TranscriptRules>, store: ConversationRecords) {
    this.rules = rules;
    this.store = store;
  }

  /** The conversation an event belongs to, if any. */
  async idOf(view: Record<string, unknown>): Promise<string | undefined> {
    const rules = this.rules.get(String(view.source));
    if (!rules) return undefined;
    const id = await rules.conversationId(view).catch(() => undefined);
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  }

  /** The messages an event carries, each with its id (messages without an id are ignored). */
  async messagesOf(view: Record<string, unknown>): Promise<Array<{ id: string; message: unknown }>> {
    const rules = this.rules.get(String(view.source));
    if (!rules) return [];
    const found = await rules.messages(view).catch(() => undefined);
    const list = found === undefined ? [] : Array.isArray(found) ? found : [found];
    const out: Array<{ id: string; message: unknown }> = [];
    for (const message of list) {
      const id = await rules.messageId(message).catch(() => undefined);
      if (typeof id === 'string' || typeof id === 'number') out.push({ id: String(id), message });
    }
    return out;
  }

  /**
   * The messages this event adds to its conversation (the store ignores ids it already has), and,
   * when `withTranscript`, the transcript after this event: what is stored plus what is new.
   * Loading the transcript costs a read per event, so it happens only when a recipe needs it.
   * Conversation and message ids come from event data: they reach the store as index keys.
   */
  async withEvent(
    view: Record<string, unknown>,
    seq: number,
    withTranscript: boolean,
    /** Messages of earlier events of the same batch, not stored yet. */
    unstored: readonly TranscriptMessage[] = [],
  ): Promise<{ transcript?: Transcript; append: TranscriptMessage[] }> {
    const id = await this.idOf(view);
    if (id === undefined) return { append: [] };
    const key = indexKey(id);
    const stored = withTranscript ? [...(await this.store.transcript(key)), ...unstored.filter((m) => m.conversationId === key)] : [];
    const known = new Set(stored.map((m) => m.messageId));
    const append: TranscriptMessage[] = [];
    for (const m of await this.messagesOf(view)) {
      const messageKey = indexKey(m.id);
      if (known.has(messageKey)) continue;
      known.add(messageKey);
      append.push({ conversationId: key, messageId: messageKey, eventSeq: seq, position: append.length, message: m.message });
    }
    if (!withTranscript) return { append };
    return { transcript: { id, messages: [...stored.map((m) => m.message), ...append.map((m) => m.message)] }, append };
  }

  /** The stored transcript of the event's conversation ($conversation while a run executes). */
  async current(view: Record<string, unknown>): Promise<Transcript | undefined> {
    const id = await this.idOf(view);
    if (id === undefined) return undefined;
    return { id, messages: (await this.store.transcript(indexKey(id))).map((m) => m.message) };
  }
}
