import { z } from 'zod';
import type { ActionDefinition } from './types.ts';

const level = z.enum(['debug', 'info', 'warn', 'error']);
type Args = { message: string; level: z.infer<typeof level>; fields?: Record<string, unknown> | undefined };

/** `log: "text"` or `log: { message, level, fields }`: a line in hookline's log (for debugging recipes). */
export const logAction: ActionDefinition<Args> = {
  name: 'log',
  description: 'write a line to the log',
  args: (t) =>
    z.union([
      z.string().transform((message) => ({ message, level: 'info' as const })),
      z.object({ message: z.string(), level: t(level).default('info'), fields: z.record(z.string(), z.unknown()).optional() }).strict(),
    ]),
  execute: async (args, ctx) => {
    ctx.logger[args.level]({ recipe: ctx.recipe, run: ctx.runId, ...args.fields }, args.message);
    return { logged: args.message };
  },
  preview: (args) => args,
  fake: (args) => ({ logged: args.message }),
};
