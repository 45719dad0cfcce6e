import type { Config } from '../config/schema.ts';
import type { Conversations } from '../domain/conversations.ts';
import { eventView, truthy } from '../engine/view.ts';
import type { Logger } from '../observability/logger.ts';
import { laneAt, type CompiledRecipe, type WaitStep } from '../recipes/compile.ts';
import { describeJsonataError, type Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { DispatchOutcome, DispatchPlan, EventRecord, NewRun, Store, TranscriptMessage, WaitRecord, WaitResolution } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { newRunId } from '../util/ids.ts';

export interface DispatcherDeps {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  conversations: Conversations;
  recipes: () => RecipeSet;
  env: Record<string, string>;
}

/**
 * Takes stored events in receive order and applies what each causes in one transaction: hookline's
 * own state first (transcripts), then a run for every matching recipe, then the waits it resolves.
 * Strict receive order means a run never starts before the state of the events received before it
 * is in place; dispatch does no network I/O, so it stays cheap.
 */
export class Dispatcher {
  private readonly deps: DispatcherDeps;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  /**
   * Dispatches pending events (up to `limit`), committed together in one transaction; returns the
   * outcomes, in order.
   */
  async dispatchPending(limit = 100): Promise<Array<{ event: EventRecord; outcome: DispatchOutcome }>> {
    const { store } = this.deps;
    return store.dispatch.withLock(async () => {
      const events = await store.dispatch.pending(limit);
      if (events.length === 0) return [];
      const plans: DispatchPlan[] = [];
      // The waits of a source are read once per batch: a wait two events of the batch both answer
      // is resolved by the first; the commit's conditional update makes the second a no-op.
      const waiting = new Map<string, Promise<WaitRecord[]>>();
      const waitsOf = (source: string) => waiting.get(source) ?? waiting.set(source, store.waits.waiting(source)).get(source)!;
      const unstored: TranscriptMessage[] = [];
      for (const event of events) {
        const plan = await this.plan(event, unstored, waitsOf);
        plans.push(plan);
        unstored.push(...plan.messages);
        // Let the event loop answer webhooks between events: acknowledging comes first.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const outcomes = await store.dispatch.commit(plans);
      return events.map((event, i) => ({ event, outcome: outcomes[i]! }));
    });
  }

  /** What an event causes; `unstored` are the transcript messages of the events planned before it in this batch. */
  async plan(
    event: EventRecord,
    unstored: TranscriptMessage[] = [],
    waitsOf: (source: string) => Promise<WaitRecord[]> = (source) => this.deps.store.waits.waiting(source),
  ): Promise<DispatchPlan> {
    const { config, clock, conversations } = this.deps;
    const view = eventView(event);
    const recipes = [...this.deps.recipes().recipes.values()].filter((r) => r.enabled && r.on.some((m) => m.matches(event.source, event.type)));
    // A replay answers no waits; otherwise a waiting recipe that reads $conversation needs the transcript too.
    const waits = event.generation === 0 ? await waitsOf(event.source) : [];
    const needsTranscript = [...recipes, ...waits.map((w) => this.deps.recipes().recipes.get(w.recipe))].some((r) => r?.usesConversation);
    const { transcript, append } = await conversations.withEvent(view, event.seq, needsTranscript, unstored);
    const base: Bindings = { vars: config.vars, env: this.deps.env, clock, conversation: transcript };
    const runs = await Promise.all(recipes.map((recipe) => this.startRun(recipe, view, { ...base, trigger: view, steps: {} })));
    const resolutions = await this.resolveWaits(event, view, base, waits);
    return {
      seq: event.seq,
      generation: event.generation,
      now: clock.now(),
      messages: append,
      runs: runs.filter((r): r is NewRun => r !== undefined),
      resolutions,
    };
  }

  private async startRun(recipe: CompiledRecipe, view: Record<string, unknown>, bindings: Bindings): Promise<NewRun | undefined> {
    const id = newRunId(this.deps.clock.now());
    let stage = 'if';
    try {
      if (recipe.if && !truthy(await recipe.if.evaluate(view, bindings))) return undefined;
      stage = 'key';
      const lane = laneAt(recipe, 0) ?? undefined;
      if (!recipe.key) return { id, recipe: recipe.name, status: 'queued', lane };
      const key = await recipe.key.evaluate(view, bindings);
      if (key === undefined || key === null || typeof key === 'object') {
        throw new Error(`evaluated to ${key === undefined ? 'nothing' : JSON.stringify(key)}; a key must be a string or number`);
      }
      return { id, recipe: recipe.name, key: String(key), status: 'queued', lane };
    } catch (error) {
      // Recorded as a dead run, so the operator sees it in dead letters rather than only in a log.
      const source = stage === 'if' ? recipe.if?.source : recipe.key?.source;
      return { id, recipe: recipe.name, status: 'dead', error: `recipe ${recipe.name}: ${stage} expression "${source}" failed: ${describeJsonataError(error)}` };
    }
  }

  private async resolveWaits(event: EventRecord, view: Record<string, unknown>, base: Bindings, waits: WaitRecord[]): Promise<WaitResolution[]> {
    const { logger } = this.deps;
    const resolutions: WaitResolution[] = [];
    for (const wait of waits) {
      const recipe = this.deps.recipes().recipes.get(wait.recipe);
      const step = recipe?.steps.find((s): s is WaitStep => s.id === wait.stepId && s.kind === 'wait');
      if (!step || !step.event.matches(event.source, event.type)) continue;
      if (await waitMatches(step, view, { ...base, trigger: eventView(wait.trigger) }, (error) => logger.warn({ recipe: wait.recipe, step: wait.stepId, error }, 'wait_for match failed'))) {
        resolutions.push({ runId: wait.runId, stepId: wait.stepId, output: { timed_out: false, event: view } });
      }
    }
    return resolutions;
  }
}

/** Whether an event ends a wait_for step: its pattern and its `match` expression (errors: no match). */
export async function waitMatches(step: WaitStep, view: Record<string, unknown>, bindings: Bindings, onError: (message: string) => void): Promise<boolean> {
  if (!step.event.matches(String(view.source), String(view.type))) return false;
  if (!step.match) return true;
  try {
    return truthy(await step.match.evaluate(view, bindings));
  } catch (error) {
    onError(`match expression "${step.match.source}" failed: ${describeJsonataError(error)}`);
    return false;
  }
}
