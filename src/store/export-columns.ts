import type { ExportKind } from './types.ts';

/** The columns of each export kind, in output order (both backends select exactly these). */
export const exportColumns = {
  events: ['seq', 'source', 'event_id', 'type', 'received_at', 'test', 'status', 'body'],
  runs: ['id', 'event_seq', 'event_id', 'source', 'recipe', 'status', 'attempt', 'error', 'created_at', 'updated_at'],
  tickets: ['id', 'customer_email', 'customer_name', 'subject', 'status', 'message_count', 'created_at', 'updated_at'],
} as const;

/** Columns every `store` table export starts with. */
export const tableExportColumns = ['row_id', 'stored_at'] as const;

export const tableOf = (kind: ExportKind): string | undefined => (typeof kind === 'object' ? kind.table : undefined);
