import type { Config } from '../config/schema.ts';
import type { Clock } from '../util/clock.ts';
import { compileExpression } from './expressions.ts';

/**
 * The expressions of sources.muro.transcript compiled once: where a conversation's id, its messages
 * and each message's id sit in muro's `data` (domain/conversations.ts calls them).
 */
export function transcriptRules(config: Config['sources']['muro']['transcript'], clock: Clock) {
  const extract = (source: string) => {
    const expression = compileExpression(source);
    return (value: unknown) => expression.evaluate(value, { clock });
  };
  return { conversationId: extract(config.conversation_id), messages: extract(config.messages), messageId: extract(config.message_id) };
}
