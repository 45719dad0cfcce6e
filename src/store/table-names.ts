import { NonRetryableError } from '../errors.ts';
import type { Row } from './types.ts';

/** Tables hookline keeps for itself; the `store` action may not write to them. */
const reserved = new Set([
  'seen_events', 'events', 'transcript_messages', 'runs', 'steps', 'attempts', 'waits', 'store_tables',
  'customers', 'tickets', 'ticket_messages', 'ticket_message_refs', 'ticket_participants', 'attachments', 'schema_migrations', 'erasures',
  // Data lifecycle
  'prune_log', 'seq_marks',
  // Flow control
  'flow_rates', 'flow_circuits', 'paused_recipes', 'recipe_versions', 'bulk_operations', 'bulk_items', 'schedule_ticks',
]);
/** Columns every `store` table has. */
export const systemColumns = ['row_id', 'stored_at', 'idempotency_key'] as const;
const identifier = /^[a-z][a-z0-9_]{0,62}$/;

/** Identifiers are interpolated into SQL, so they are checked here, in one place, for both backends. */
export function checkTable(table: string, row: Row): string[] {
  if (!identifier.test(table)) throw new NonRetryableError(`store: table name "${table}" must be lower-case letters, digits and _ (start with a letter)`);
  if (reserved.has(table)) throw new NonRetryableError(`store: table "${table}" is one of hookline's own tables; choose another name`);
  const columns = Object.keys(row);
  if (columns.length === 0) throw new NonRetryableError('store: the row has no columns');
  for (const column of columns) {
    if (!identifier.test(column)) throw new NonRetryableError(`store: column name "${column}" must be lower-case letters, digits and _`);
    if ((systemColumns as readonly string[]).includes(column)) throw new NonRetryableError(`store: column "${column}" is reserved (${systemColumns.join(', ')})`);
  }
  return columns;
}
