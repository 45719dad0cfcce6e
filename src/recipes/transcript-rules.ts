import type { Config } from '../config/schema.ts';
import type { TranscriptRules } from '../domain/conversations.ts';
import { transcriptsOf } from '../sources/configured.ts';
import type { TranscriptExpressions } from '../sources/types.ts';
import type { Clock } from '../util/clock.ts';
import { compileExpression } from './expressions.ts';

/**
 * The transcript expressions of every source that carries conversations (sources.<name>.transcript),
 * compiled once: where a conversation's id, its messages and each message's id sit in an event
 * (domain/conversations.ts calls them).
 */
export function transcriptRules(config: Pick<Config, 'sources'>, clock: Clock): ReadonlyMap<string, TranscriptRules> {
  return new Map(Object.entries(transcriptsOf(config)).map(([source, expressions]) => [source, compile(expressions, clock)]));
}

function compile(expressions: TranscriptExpressions, clock: Clock): TranscriptRules {
  const extract = (source: string) => {
    const expression = compileExpression(source);
    return (value: unknown) => expression.evaluate(value, { clock });
  };
  return { conversationId: extract(expressions.conversation_id), messages: extract(expressions.messages), messageId: extract(expressions.message_id) };
}
