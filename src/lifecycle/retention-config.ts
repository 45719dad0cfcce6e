import { z } from 'zod';
import { parseDuration } from '../config/units.ts';

/** The shortest retention accepted: shorter would prune what a normal run is still reading. */
export const minRetentionMs = 60_000;
const DAY = 86_400_000;

/** How long a kind is kept: a duration (30d, 12h, 2m), or `forever` (null). */
const keepFor = z
  .union([z.number().nonnegative(), z.string()])
  .transform((value, ctx) => {
    if (value === 'forever') return null;
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 2m, 12h or 30d, or forever, got "${value}"` });
      return z.NEVER;
    }
    if (ms < minRetentionMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least 1m, or forever (got ${value}${typeof value === 'number' ? ' ms' : ''})` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'a duration (2m, 12h, 30d; a bare number is milliseconds) or forever' });

/** `retention:` (PRODUCT §10): how long each kind of record is kept before the background pruner removes it. */
export const retentionSchema = z
  .object({
    events: keepFor.default(30 * DAY).meta({ description: 'events with their runs, steps and attempts (never an event a live run or an undispatched event needs)' }),
    attachments: keepFor
      .default(90 * DAY)
      .meta({ description: 'saved attachment files no longer referenced by a kept ticket or event are deleted once this old' }),
    transcripts: keepFor.default(90 * DAY).meta({ description: 'conversation transcript messages' }),
    tickets: keepFor.default(null).meta({ description: 'tickets (with their messages and attachment records), by last activity: forever unless set' }),
    summaries: keepFor.default(null).meta({ description: 'rows of the conversation_summaries table: forever unless set' }),
  })
  .strict();

export type Retention = z.output<typeof retentionSchema>;
