import type Database from 'better-sqlite3';
import type { ConversationStore, TranscriptMessage } from '../types.ts';

export function sqliteConversations(db: Database.Database): ConversationStore {
  const transcript = db.prepare(`
    SELECT conversation_id, message_id, event_seq, position, message FROM transcript_messages
    WHERE conversation_id = ? ORDER BY event_seq, position`);
  return {
    transcript: async (conversationId) =>
      (transcript.all(conversationId) as Array<{ conversation_id: string; message_id: string; event_seq: number; position: number; message: string }>).map(
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
