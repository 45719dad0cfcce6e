import { z } from 'zod';
import { duration } from '../config/units.ts';

/** The shortest retention accepted: shorter would prune what a normal run is still reading. */
export const minRetentionMs = 60_000;
const DAY = 86_400_000;

/** How long a kind is kept: a duration (30d, 12h, 2m), or `forever` (null). */
const keepFor = z
  .union([z.literal('forever'), duration])
  .transform((value, ctx) => {
    if (value === 'forever') return null;
    if (value < minRetentionMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least 1m, or forever (got ${value} ms)` });
      return z.NEVER;
    }
    return value;
  })
  .meta({ description: 'a duration (2m, 12h, 30d) or forever' });

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
