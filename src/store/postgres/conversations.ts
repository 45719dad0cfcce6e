import type { ConversationStore, TranscriptMessage } from '../types.ts';
import type { Db } from './db.ts';

const transcriptSql = `
  SELECT conversation_id, message_id, event_seq, position, message FROM transcript_messages
  WHERE conversation_id = $1 ORDER BY event_seq, position`;

interface MessageRow {
  conversation_id: string;
  message_id: string;
  event_seq: number;
  position: number;
  message: string;
}

export function postgresConversations(db: Db): ConversationStore {
  return {
    transcript: async (conversationId) =>
      (await db.pool.query<MessageRow>(transcriptSql, [conversationId])).rows.map(
        (r): TranscriptMessage => ({
          conversationId: r.conversation_id,
          messageId: r.message_id,
          eventSeq: r.event_seq,
          position: r.position,
          message: JSON.parse(r.message),
        }),
      ),
  };
}
