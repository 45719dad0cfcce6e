import { toTranscriptMessage, transcriptSql, type MessageRow } from '../rows.ts';
import type { ConversationRecords } from '../types.ts';
import type { Db } from './db.ts';

export function postgresConversations(db: Db): ConversationRecords {
  const sql = transcriptSql('$1');
  return {
    transcript: async (conversationId) => (await db.pool.query<MessageRow>(sql, [conversationId])).rows.map(toTranscriptMessage),
  };
}
