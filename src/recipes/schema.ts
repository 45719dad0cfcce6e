import { z } from 'zod';
import type { ActionDefinition, Templatable } from '../actions/types.ts';
import { duration } from '../config/units.ts';

/**
 * The recipe file schema. Validation at load, `hookline check`, and schema/recipe.schema.json
 * (editor completion) all come from these definitions and the actions' own argument schemas.
 */

const templateText = z.string().regex(/\{\{[\s\S]*\}\}/, { message: 'expected a value or a {{ ... }} template', abort: true });

/** At load, a templated scalar is accepted as text; it is checked against the real schema when rendered. */
export const loadTemplatable: Templatable = (schema) => z.union([schema, templateText]) as never;
/** When a step runs, rendered values must satisfy the schema itself. */
export const runTemplatable: Templatable = (schema) => schema as never;

export const stepId = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected letters, digits and _ (it is used as $steps.<id> in expressions)' });

const expression = (description: string) => z.string().min(1).meta({ description: `JSONata: ${description}` });

/**
 * source/type, with * globs: muro/message.created, muro/conversation.*, meru/*, shopify/orders/create.
 * Split at the first /: a type may hold more (Shopify's topics do). `hookline check` warns about a
 * source that is not configured.
 */
export const eventPattern = z
  .string()
  .regex(/^[a-z0-9_*-]+\/[^\s/][^\s]*$/, { message: 'expected source/type such as muro/message.created, muro/conversation.* or github/issues.opened' });

/** `on: { schedule: "0 9 * * 1-5", timezone: Europe/Paris }`: the cron and zone are checked at compile (croner). */
export const scheduleOn = z
  .object({
    schedule: z.string().min(1).meta({ description: 'a cron expression: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"' }),
    timezone: z.string().min(1).optional().meta({ description: 'IANA time zone the schedule is read in (default UTC), e.g. Europe/Paris' }),
  })
  .strict();

export const waitForArgs = z
  .object({
    event: eventPattern.meta({ description: 'the event that ends the wait, source/type' }),
    match: expression('which such event; $trigger is the run’s trigger event').optional(),
    timeout: z.union([duration, templateText]).meta({ description: 'a duration, or a {{ }} template that renders one' }),
  })
  .strict();

const stepBase = {
  id: stepId,
  if: expression('run the step only when true; $steps holds earlier outputs').optional(),
};

export function stepVariants(actions: readonly ActionDefinition[]) {
  return [
    z.object({ ...stepBase, wait_for: waitForArgs }).strict().meta({ description: 'wait durably for an event or a timeout' }),
    ...actions.map((a) => z.object({ ...stepBase, [a.name]: a.args(loadTemplatable) }).strict().meta({ description: a.description })),
  ];
}

export const testCase = z
  .object({
    name: z.string().min(1),
    event: z
      .union([z.string(), z.record(z.string(), z.unknown())])
      .meta({ description: 'a sample (muro/conversation.opened, hookline/run.dead), a JSON file relative to this recipe, or the event inline' }),
    source: z.string().optional().meta({ description: "when the event is inline or a file: its source (default: that of the recipe's first on)" }),
    patch: z.record(z.string(), z.unknown()).optional().meta({ description: 'deep-merged into the event' }),
    vars: z.record(z.string(), z.unknown()).optional().meta({ description: 'merged over the config’s vars' }),
    conversation: z.array(z.record(z.string(), z.unknown())).optional().meta({ description: 'transcript messages before this event' }),
    steps: z.record(z.string(), z.unknown()).optional().meta({ description: 'outputs to use for steps: wait_for results, action responses' }),
    expect: z
      .array(z.record(z.string(), z.unknown()))
      .meta({ description: 'the actions the run performs, in order, each { action: args } (args matched partially); [] for none' }),
  })
  .strict();

export function recipeSchema(actions: readonly ActionDefinition[]) {
  return z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, { message: 'expected lower-case letters, digits, . _ -' }).optional()
        .meta({ description: 'unique; defaults to the file name' }),
      description: z.string().optional(),
      enabled: z.boolean().default(true),
      on: z
        .union([eventPattern, z.array(eventPattern).min(1), scheduleOn])
        .meta({ description: 'the events that start a run, or { schedule, timezone }: a cron schedule (hookline/schedule events)' }),
      if: expression('start a run only when true').optional(),
      key: expression('at most one live run per value of this key').optional(),
      steps: z.array(z.union(stepVariants(actions))).min(1),
      tests: z.array(testCase).optional(),
    })
    .strict();
}

export type RecipeTestCase = z.output<typeof testCase>;
