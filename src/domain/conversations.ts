import type { TranscriptExpressions } from '../sources/types.ts';
import { compileExpression, type CompiledExpression } from '../recipes/expressions.ts';
import { indexKey } from '../store/index-key.ts';
import type { ConversationStore, TranscriptMessage } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

export interface Transcript {
  id: string;
  /** The messages as muro sent them, in the order they were received. */
  messages: unknown[];
}

interface CompiledTranscript {
  conversationId: CompiledExpression;
  messages: CompiledExpression;
  messageId: CompiledExpression;
}

/**
 * Conversation transcripts, of the sources whose preset carries conversations (muro). Where the
 * conversation and its messages sit in an event is configurable (sources.<name>.transcript,
 * JSONata), because muro does not publish that shape.
 */
export class Conversations {
  private readonly bySource = new Map<string, CompiledTranscript>();
  private readonly store: ConversationStore;
  private readonly clock: Clock;

  /** `transcripts`: by source name, for the sources that have conversations (see transcriptsOf). */
  constructor(transcripts: Readonly<Record<string, TranscriptExpressions>>, store: ConversationStore, clock: Clock) {
    for (const [source, t] of Object.entries(transcripts)) {
      this.bySource.set(source, { conversationId: compileExpression(t.conversation_id), messages: compileExpression(t.messages), messageId: compileExpression(t.message_id) });
    }
    this.store = store;
    this.clock = clock;
  }

  /** The conversation an event belongs to, if any. */
  async idOf(view: Record<string, unknown>): Promise<string | undefined> {
    const t = this.bySource.get(String(view.source));
    if (!t) return undefined;
    const id = await t.conversationId.evaluate(view, { clock: this.clock }).catch(() => undefined);
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  }

  /** The messages an event carries, each with its id (messages without an id are ignored). */
  async messagesOf(view: Record<string, unknown>): Promise<Array<{ id: string; message: unknown }>> {
    const t = this.bySource.get(String(view.source));
    if (!t) return [];
    const found = await t.messages.evaluate(view, { clock: this.clock }).catch(() => undefined);
    const list = found === undefined ? [] : Array.isArray(found) ? found : [found];
    const out: Array<{ id: string; message: unknown }> = [];
    for (const message of list) {
      const id = await t.messageId.evaluate(message, { clock: this.clock }).catch(() => undefined);
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
