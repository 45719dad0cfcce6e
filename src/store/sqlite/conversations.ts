import type Database from 'better-sqlite3';
import { toTranscriptMessage, transcriptSql, type MessageRow } from '../rows.ts';
import type { ConversationRecords } from '../types.ts';

export function sqliteConversations(db: Database.Database): ConversationRecords {
  const transcript = db.prepare(transcriptSql('?'));
  return {
    transcript: async (conversationId) => (transcript.all(conversationId) as MessageRow[]).map(toTranscriptMessage),
  };
}
