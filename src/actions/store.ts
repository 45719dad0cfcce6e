import { z } from 'zod';
import type { Row } from '../store/types.ts';
import type { ActionDefinition } from './types.ts';

type Args = { table: string; row: Record<string, unknown> };

/** Inserts a row into a table of the store (created on first use): the analytics "warehouse". */
export const storeAction: ActionDefinition<Args> = {
  name: 'store',
  description: 'insert a row into a table of the store (created on first use)',
  args: () =>
    z
      .object({
        table: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { message: 'expected a table name: lower-case letters, digits and _' }),
        row: z.record(z.string(), z.unknown()),
      })
      .strict(),
  execute: async (args, ctx) => {
    const row = Object.fromEntries(Object.entries(args.row).map(([k, v]) => [k, v === undefined ? null : v])) as Row;
    ctx.trace.request = { table: args.table, row };
    // The idempotency key makes a retried insert a no-op instead of a second row.
    const inserted = await ctx.records.tables.insert({ table: args.table, row, idempotencyKey: ctx.idempotencyKey, now: ctx.clock.now() });
    return { table: args.table, inserted };
  },
  preview: (args) => args,
  fake: (args) => ({ table: args.table, inserted: true }),
};
