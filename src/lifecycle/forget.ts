import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { Config } from '../config/schema.ts';
import { Conversations } from '../domain/conversations.ts';
import { attachmentPath } from '../domain/attachments.ts';
import { transcriptRules } from '../recipes/transcript-rules.ts';
import { indexKey } from '../store/index-key.ts';
import type { ConversationRef, ErasureCounts, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { checkAddress, mentionPattern } from './address.ts';

export interface ForgetDeps {
  store: Store;
  config: Pick<Config, 'sources' | 'attachments'>;
  clock: Clock;
}

export interface ForgetResult {
  /** The audit entry's id (absent on a dry run: nothing was recorded). */
  id?: string;
  dryRun: boolean;
  counts: ErasureCounts;
  /** Attachment files that could not be deleted (already gone files count as deleted). */
  filesLeft: number;
}

/**
 * Erases one person's data (PRODUCT §10, `forget --email`): the events that mention the address,
 * the events of their conversations, with their runs, steps, attempts and waits (live runs are
 * cancelled: a worker running one loses its lease at its next write and stops); the transcripts of
 * those conversations; the tickets where they are the requester or a participant or that mention
 * them, with all their messages; rows of `store` tables (summaries among them) that mention them or
 * belong to one of their conversations; the attachment files nothing kept refers to. One
 * transaction; the files go after its commit. The audit entry keeps who, when and how many rows.
 */
export async function forget(deps: ForgetDeps, request: { email: unknown; requestedBy: string; dryRun?: boolean }): Promise<ForgetResult> {
  const address = checkAddress(request.email);
  const pattern = mentionPattern(address);
  const { store, config, clock } = deps;
  // Which conversation an event belongs to is the operator's expression (sources.<name>.transcript).
  const conversations = new Conversations(transcriptRules(config, clock), store.records.conversations);
  const found = new Map<string, ConversationRef>();
  for (const event of await store.erasure.eventsMentioning(pattern, address)) {
    let view: Record<string, unknown>;
    try {
      view = { ...(JSON.parse(event.body) as Record<string, unknown>), source: event.source };
    } catch {
      continue;
    }
    const id = await conversations.idOf(view);
    if (id !== undefined) found.set(`${event.source}\n${id}`, { source: event.source, id, key: indexKey(id) });
  }
  const dryRun = request.dryRun === true;
  const requestId = randomUUID();
  const result = await store.erasure.erase({ address, pattern, conversations: [...found.values()], requestedBy: request.requestedBy, requestId, now: clock.now(), dryRun });
  let filesLeft = 0;
  if (!dryRun) {
    for (const sha of result.files) {
      await unlink(attachmentPath(config.attachments, sha)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') filesLeft++;
      });
    }
  }
  return { ...(dryRun ? {} : { id: requestId }), dryRun, counts: orderedCounts(result.counts), filesLeft };
}

const countOrder = ['events', 'runs', 'steps', 'attempts', 'waits', 'transcript_messages', 'tickets', 'ticket_messages', 'ticket_participants', 'attachments', 'customers', 'tables', 'files'] as const satisfies ReadonlyArray<keyof ErasureCounts>;

/** The counts in the order operators read them (the order of countOrder), for the JSON answers. */
export function orderedCounts(counts: ErasureCounts): ErasureCounts {
  return Object.fromEntries(countOrder.map((k) => [k, counts[k]])) as unknown as ErasureCounts;
}

/** One line per kind that had rows, for the CLI and logs: "events 3, runs 2, …". */
export function describeCounts(counts: ErasureCounts): string {
  const parts: string[] = [];
  for (const kind of countOrder) {
    if (kind === 'tables') for (const [table, m] of Object.entries(counts.tables)) parts.push(`table ${table} ${m}`);
    else if (counts[kind] > 0) parts.push(`${kind === 'files' ? 'attachment files' : kind.replaceAll('_', ' ')} ${counts[kind]}`);
  }
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}
