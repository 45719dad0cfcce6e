import { isConfigured } from '../actions/types.ts';
import type { Config } from '../config/schema.ts';
import type { Conversations } from '../domain/conversations.ts';
import type { Redactor } from '../observability/redact.ts';
import type { RecipeSet } from '../recipes/load.ts';
import { evaluateTrigger } from '../recipes/trigger.ts';
import { ownTick } from '../recipes/schedule.ts';
import { eventView } from '../recipes/view.ts';
import type { EventRecord } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { simulateRun } from './test-runner.ts';

/** What one step of a recipe would do with a stored event. */
export interface DryRunStep {
  id: string;
  action: string;
  /** would_send: the action's preview (what it would send); skipped: its if was false or its connection is not configured. */
  outcome: 'would_send' | 'skipped' | 'wait';
  /** The request the action would make (credentials redacted). */
  sends?: unknown;
  reason?: string | undefined;
}

export interface DryRunRecipe {
  recipe: string;
  /** The version in force (the loaded file's hash): the one a replay would run. */
  version: string;
  steps: DryRunStep[];
  /** Why the run would fail (an expression, rendered arguments that do not validate). */
  error?: string | undefined;
}

export interface DryRunEvent {
  seq: number;
  id: string;
  source: string;
  type: string;
  received_at: string;
  /** Recipes whose on and if hold: each would start a run. */
  recipes: DryRunRecipe[];
  /** Recipes whose on matches but whose if is false. */
  if_false: string[];
}

export interface DryRunDeps {
  recipes: RecipeSet;
  config: Config;
  env: Record<string, string>;
  /** Reads the stored transcript ($conversation); writes nothing. */
  conversations: Pick<Conversations, 'withEvent'>;
  clock: Clock;
  redact: Redactor;
}

/**
 * Evaluates the recipes in force (the loaded files, not the versions the event's runs had) against a
 * stored event, with the real engine and fake actions (`simulateRun`, as `hookline test`): which
 * recipes would start a run, and what each step would send (the action's preview). Nothing is stored
 * and nothing leaves the process. A wait_for is assumed to time out; a step after it sees that. The
 * outputs later steps see are the actions' fakes.
 */
export async function dryRunEvent(event: EventRecord, deps: DryRunDeps): Promise<DryRunEvent> {
  const { config, clock } = deps;
  const view = eventView(event);
  const matching = [...deps.recipes.recipes.values()].filter((r) => r.enabled && r.on.some((m) => m.matches(event.source, event.type)) && ownTick(r, event, view));
  const needsTranscript = matching.some((r) => r.usesConversation);
  const { transcript } = await deps.conversations.withEvent(view, event.seq, needsTranscript);
  const result: DryRunEvent = { seq: event.seq, id: event.eventId, source: event.source, type: event.type, received_at: new Date(event.receivedAt).toISOString(), recipes: [], if_false: [] };
  const vars = config.vars as Record<string, unknown>;
  for (const recipe of matching) {
    const trigger = await evaluateTrigger(recipe, view, { trigger: view, steps: {}, vars, env: deps.env, conversation: transcript, clock });
    if (!trigger.start) {
      result.if_false.push(recipe.name);
      continue;
    }
    const entry: DryRunRecipe = { recipe: recipe.name, version: recipe.hash, steps: [] };
    result.recipes.push(entry);
    if ('error' in trigger) {
      entry.error = trigger.error;
      continue;
    }
    const sent = new Map<string, DryRunStep>();
    let records: Awaited<ReturnType<typeof simulateRun>> = [];
    try {
      records = await simulateRun(deps.recipes, recipe, event, {
        vars,
        env: deps.env,
        clock,
        transcript,
        invoke: (call) => {
          const { action } = call.step;
          const configured = !action.connection || isConfigured(config, action.connection);
          sent.set(call.step.id, {
            id: call.step.id,
            action: action.name,
            outcome: configured ? 'would_send' : 'skipped',
            sends: deps.redact.value(action.preview(call.args, config)),
            ...(configured ? {} : { reason: `${action.connection} not configured` }),
          });
          return action.fake(call.args);
        },
        waitOutcome: () => ({ timed_out: true }),
      });
    } catch (error) {
      entry.error = deps.redact.text((error as Error).message);
    }
    const byId = new Map(records.map((r) => [r.stepId, r]));
    for (const step of recipe.steps) {
      const shown = sent.get(step.id);
      if (shown) entry.steps.push(shown);
      else if (step.kind === 'wait' && byId.has(step.id)) {
        const skippedByIf = (byId.get(step.id)!.output as { skipped?: string } | null)?.skipped;
        entry.steps.push({ id: step.id, action: 'wait_for', outcome: skippedByIf ? 'skipped' : 'wait', reason: skippedByIf ?? `waits for ${step.event.text}; assumed to time out` });
      } else if (byId.has(step.id)) {
        entry.steps.push({ id: step.id, action: step.kind === 'action' ? step.action.name : 'wait_for', outcome: 'skipped', reason: 'if was false' });
      }
    }
  }
  return result;
}
