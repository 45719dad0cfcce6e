import type { Config } from '../config/schema.ts';
import type { Conversations } from '../domain/conversations.ts';
import { eventView, truthy } from '../engine/view.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { traceDispatch } from '../observability/tracing.ts';
import { laneAt, type CompiledRecipe, type WaitStep } from '../recipes/compile.ts';
import { describeJsonataError, type Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import { indexKey } from '../store/index-key.ts';
import type { DispatchOutcome, DispatchPlan, EventRecord, NewRun, Store, TranscriptMessage, WaitRecord, WaitResolution } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { newRunId } from '../util/ids.ts';
import { isStoreTrouble } from './dispatch-failure.ts';

export interface DispatcherDeps {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  conversations: Conversations;
  recipes: () => RecipeSet;
  env: Record<string, string>;
  /** Counts the events set aside. */
  metrics?: Pick<Metrics, 'dispatchFailed'>;
}

/** What became of an event in a dispatch pass: committed with its outcome, or set aside with its error. */
export type Dispatched = { event: EventRecord; outcome: DispatchOutcome; setAside?: undefined } | { event: EventRecord; setAside: string; outcome?: undefined };

/** The longest dispatch error kept with a set-aside event. */
const maxErrorLength = 2_000;

/**
 * Takes stored events in receive order and applies what each causes in one transaction: hookline's
 * own state first (transcripts), then a run for every matching recipe, then the waits it resolves.
 * Strict receive order means a run never starts before the state of the events received before it
 * is in place; dispatch does no network I/O, so it stays cheap.
 *
 * An event whose dispatch fails for a reason of its own (its data trips a bug, the database refuses
 * a value) is set aside with its error and dispatch goes on with the next one: one bad event never
 * stops the others. When the store itself is in trouble (unreachable, full, read-only) nothing is
 * set aside: the pass fails and is retried.
 */
export class Dispatcher {
  private readonly deps: DispatcherDeps;
  /** Since when passes have been failing (the store in trouble), and the latest error; for /readyz. */
  private failing: { since: number; error: string } | undefined;

  constructor(deps: DispatcherDeps) {
    this.deps = deps;
  }

  /** Set while dispatch passes keep failing; cleared by the next pass that works. */
  get failure(): { since: number; error: string } | undefined {
    return this.failing;
  }

  /**
   * Dispatches pending events (up to `limit`), committed together in one transaction; returns what
   * became of each. Should that commit fail, the events are committed one at a time to find the one
   * that fails it; the events after it are planned again by the next pass (their plans assumed it).
   */
  async dispatchPending(limit = 100): Promise<Dispatched[]> {
    try {
      const result = await this.deps.store.dispatch.withLock(() => this.pass(limit));
      this.failing = undefined;
      return result;
    } catch (error) {
      this.failing = { since: this.failing?.since ?? this.deps.clock.now(), error: describe(error) };
      throw error;
    }
  }

  private async pass(limit: number): Promise<Dispatched[]> {
    const { store } = this.deps;
    const events = await store.dispatch.pending(limit);
    if (events.length === 0) return [];
    const done: Dispatched[] = [];
    const planned: Array<{ event: EventRecord; plan: DispatchPlan }> = [];
    // The waits of a source are read once per batch: a wait two events of the batch both answer
    // is resolved by the first; the commit's conditional update makes the second a no-op.
    const waiting = new Map<string, Promise<WaitRecord[]>>();
    const waitsOf = (source: string) => waiting.get(source) ?? waiting.set(source, store.waits.waiting(source)).get(source)!;
    const unstored: TranscriptMessage[] = [];
    for (const event of events) {
      try {
        const plan = await traceDispatch(event, () => this.plan(event, unstored, waitsOf));
        planned.push({ event, plan });
        unstored.push(...plan.messages);
      } catch (error) {
        waiting.clear(); // a failed read must not be reused by the next plans
        done.push(await this.setAside(event, error, 'planning'));
      }
      // Let the event loop answer webhooks between events: acknowledging comes first.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (planned.length === 0) return done;
    try {
      const outcomes = await store.dispatch.commit(planned.map((p) => p.plan));
      return [...done, ...planned.map(({ event }, i) => ({ event, outcome: outcomes[i]! }))];
    } catch (error) {
      if (planned.length === 1) return [...done, await this.setAside(planned[0]!.event, error, 'committing')];
      if (await this.storeInTrouble(error)) throw error;
    }
    for (const { event, plan } of planned) {
      try {
        const [outcome] = await store.dispatch.commit([plan]);
        done.push({ event, outcome: outcome! });
      } catch (error) {
        done.push(await this.setAside(event, error, 'committing'));
        break;
      }
    }
    return done;
  }

  /** Sets an event aside with its error, unless the error is the store's (then the pass fails). */
  private async setAside(event: EventRecord, error: unknown, stage: 'planning' | 'committing'): Promise<Dispatched> {
    if (await this.storeInTrouble(error)) throw error;
    const message = `${stage} its dispatch failed: ${describe(error)}`.slice(0, maxErrorLength);
    await this.deps.store.dispatch.setAside(event.seq, event.generation, message);
    this.deps.metrics?.dispatchFailed.inc({ source: event.source });
    // The message may quote event data (a value the database refused, a piece of a body): it is kept
    // with the event for `hookline show`, and the log names only the kind of error.
    const { logger } = this.deps;
    const kind = error instanceof Error ? [error.name, (error as { code?: unknown }).code].filter((x) => typeof x === 'string').join(' ') : typeof error;
    logger.error({ seq: event.seq, source: event.source, type: event.type, event: event.eventId, error: kind }, `event set aside: ${stage} its dispatch failed; dispatch goes on with the next events (see hookline show ${event.eventId}; replay it after a fix)`);
    logger.debug({ seq: event.seq, err: error }, 'set-aside event: the error');
    return { event, setAside: message };
  }

  /** A failure known to be the store's, or after which the store cannot even write a tiny row. */
  private async storeInTrouble(error: unknown): Promise<boolean> {
    if (isStoreTrouble(error)) return true;
    try {
      await this.deps.store.ping();
      return false;
    } catch {
      return true;
    }
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
      // Any length and any character: stored as an index key, so that no value breaks the store.
      return { id, recipe: recipe.name, key: indexKey(String(key)), status: 'queued', lane };
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

/** An error in one line for operators: its kind unless a plain driver error, and its SQLSTATE or SQLite code. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const kind = ['Error', 'error', 'SqliteError'].includes(error.name) ? '' : `${error.name}: `;
  return `${kind}${error.message}${typeof code === 'string' ? ` (${code})` : ''}`;
}
