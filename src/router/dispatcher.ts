import type { Config } from '../config/schema.ts';
import type { Conversations } from '../domain/conversations.ts';
import { runDeadNotice } from '../domain/run-dead.ts';
import { eventView } from '../recipes/view.ts';
import { evaluateTrigger } from '../recipes/trigger.ts';
import { ownTick } from '../recipes/schedule.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { traceDispatch } from '../observability/tracing.ts';
import type { CompiledRecipe, WaitStep } from '../recipes/compile.ts';
import type { Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { RecipeVersions } from '../recipes/versions.ts';
import { indexKey } from '../store/index-key.ts';
import { waitMatches } from '../recipes/wait-match.ts';
import type { ClaimedRun, DispatchOutcome, DispatchPlan, EventRecord, NewRun, Store, TranscriptMessage, WaitRecord, WaitResolution } from '../store/types.ts';
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
  /** Records the recipe version each run starts with, and gives waiting runs theirs (recipes/versions.ts). */
  versions?: Pick<RecipeVersions, 'record' | 'of'> | undefined;
  /** Counts the events set aside. */
  metrics?: Pick<Metrics, 'dispatchFailed'>;
}

/**
 * What became of an event in a dispatch pass: committed with its outcome (and the runs it created
 * leased to the offering worker, to start at once), or set aside with its error.
 */
export type Dispatched =
  | { event: EventRecord; outcome: DispatchOutcome; started: ClaimedRun[]; setAside?: undefined }
  | { event: EventRecord; setAside: string; outcome?: undefined; started?: undefined };

/**
 * Free slots of the worker that runs the pass: the runs the pass creates fill them, created already
 * leased to it (no claim, and the event parsed once for dispatch and execution). Offered only when
 * no older run waits in the queue, so that new runs never overtake queued ones.
 */
export interface SlotOffer {
  owner: string;
  leaseMs: number;
  slots: number;
  /** Destinations at their cap: their runs go to the queue. */
  skipLanes: readonly string[];
}

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
  async dispatchPending(limit = 100, offer?: SlotOffer): Promise<Dispatched[]> {
    try {
      const result = await this.deps.store.dispatch.withLock(() => this.pass(limit, offer));
      this.failing = undefined;
      return result;
    } catch (error) {
      this.failing = { since: this.failing?.since ?? this.deps.clock.now(), error: describe(error) };
      throw error;
    }
  }

  private async pass(limit: number, offer: SlotOffer | undefined): Promise<Dispatched[]> {
    const { store } = this.deps;
    const events = await store.dispatch.pending(limit);
    if (events.length === 0) return [];
    const done: Dispatched[] = [];
    const planned: Array<{ event: EventRecord; plan: DispatchPlan; view: Record<string, unknown> }> = [];
    let slots = offer?.slots ?? 0;
    // A paused recipe's runs are created but not started (pause and resume take the dispatch lock).
    const paused = slots > 0 ? new Set(await store.flow.pausedRecipes()) : undefined;
    // The waits of a source are read once per batch: a wait two events of the batch both answer
    // is resolved by the first; the commit's conditional update makes the second a no-op.
    const waiting = new Map<string, Promise<WaitRecord[]>>();
    const waitsOf = (source: string) => waiting.get(source) ?? waiting.set(source, store.waits.waiting(source)).get(source)!;
    const unstored: TranscriptMessage[] = [];
    for (const event of events) {
      try {
        // The span reports what the event matched: its runs and the waits it resolved.
        const traced = await traceDispatch(event, async () => {
          const planned = await this.plan(event, unstored, waitsOf);
          return { runs: planned.plan.runs, resolutions: planned.plan.resolutions, planned };
        });
        const { plan, view } = traced.planned;
        for (const run of plan.runs) {
          if (slots === 0 || !offer || run.status !== 'queued' || (run.lane !== undefined && offer.skipLanes.includes(run.lane)) || paused?.has(run.recipe)) continue;
          run.lease = { owner: offer.owner, until: plan.now + offer.leaseMs };
          slots--;
        }
        planned.push({ event, plan, view });
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
      return [...done, ...planned.map((p, i) => this.committed(p, outcomes[i]!))];
    } catch (error) {
      if (planned.length === 1) return [...done, await this.setAside(planned[0]!.event, error, 'committing')];
      if (await this.storeInTrouble(error)) throw error;
    }
    for (const p of planned) {
      try {
        const [outcome] = await store.dispatch.commit([p.plan]);
        done.push(this.committed(p, outcome!));
      } catch (error) {
        done.push(await this.setAside(p.event, error, 'committing'));
        break;
      }
    }
    return done;
  }

  /** A committed event with its outcome and the runs it created leased to the offering worker. */
  private committed({ event, plan, view }: { event: EventRecord; plan: DispatchPlan; view: Record<string, unknown> }, outcome: DispatchOutcome): Dispatched {
    const created = new Set(outcome.created);
    const started = plan.runs
      .filter((run) => run.lease && created.has(run.id))
      .map(
        (run): ClaimedRun => ({
          id: run.id,
          eventSeq: event.seq,
          recipe: run.recipe,
          recipeVersion: run.version ?? null,
          key: run.key ?? null,
          generation: plan.generation,
          status: 'running',
          lane: run.lane ?? null,
          attempt: 0,
          availableAt: plan.now,
          leaseOwner: run.lease!.owner,
          leaseUntil: run.lease!.until,
          createdAt: plan.now,
          updatedAt: plan.now,
          error: null,
          event: { ...event, status: 'dispatched' },
          steps: [],
          view,
        }),
      );
    return { event, outcome, started };
  }

  /** Sets an event aside with its error, unless the error is the store's (then the pass fails). */
  private async setAside(event: EventRecord, error: unknown, stage: 'planning' | 'committing'): Promise<Dispatched> {
    if (await this.storeInTrouble(error)) throw error;
    const message = `${stage} its dispatch failed: ${describe(error)}`.slice(0, maxErrorLength);
    await this.deps.store.dispatch.setAside({ seq: event.seq, generation: event.generation, error: message });
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
  private async plan(
    event: EventRecord,
    unstored: TranscriptMessage[],
    waitsOf: (source: string) => Promise<WaitRecord[]>,
  ): Promise<{ plan: DispatchPlan; view: Record<string, unknown> }> {
    const { config, clock, conversations } = this.deps;
    const view = eventView(event);
    const recipes = [...this.deps.recipes().recipes.values()].filter((r) => r.enabled && r.on.some((m) => m.matches(event.source, event.type)) && ownTick(r, event, view));
    // A replay answers no waits; otherwise a waiting recipe that reads $conversation needs the transcript too.
    const waits = event.generation === 0 ? await waitsOf(event.source) : [];
    const needsTranscript = [...recipes, ...waits.map((w) => this.deps.recipes().recipes.get(w.recipe))].some((r) => r?.usesConversation);
    const { transcript, append } = await conversations.withEvent(view, event.seq, needsTranscript, unstored);
    const base: Bindings = { vars: config.vars, env: this.deps.env, clock, conversation: transcript };
    const runs = (await Promise.all(recipes.map((recipe) => this.startRun(recipe, view, { ...base, trigger: view, steps: {} })))).filter((r): r is NewRun => r !== undefined);
    const resolutions = await this.resolveWaits(event, view, base, waits);
    const now = clock.now();
    // A run dead at birth (its if or key failed) is announced like any dead run.
    const announce = runs.flatMap((r) => (r.status === 'dead' ? [runDeadNotice({ id: r.id, recipe: r.recipe, since: now }, event, null, r.error ?? '', now)] : [])).filter((a) => a !== undefined);
    return { plan: { seq: event.seq, generation: event.generation, now, messages: append, runs, resolutions, announce }, view };
  }

  private async startRun(recipe: CompiledRecipe, view: Record<string, unknown>, bindings: Bindings): Promise<NewRun | undefined> {
    const trigger = await evaluateTrigger(recipe, view, bindings);
    if (!trigger.start) return undefined;
    const id = newRunId(this.deps.clock.now());
    // Recorded as a dead run, so the operator sees it in dead letters rather than only in a log.
    if ('error' in trigger) return { id, recipe: recipe.name, status: 'dead', error: trigger.error };
    // The version's source is stored before the run that names it.
    await this.deps.versions?.record(recipe);
    // Any length and any character: stored as an index key, so that no value breaks the store.
    return { id, recipe: recipe.name, version: recipe.hash, status: 'queued', lane: trigger.lane, ...(trigger.key !== undefined && { key: indexKey(trigger.key) }) };
  }

  private async resolveWaits(event: EventRecord, view: Record<string, unknown>, base: Bindings, waits: WaitRecord[]): Promise<WaitResolution[]> {
    const { logger } = this.deps;
    const resolutions: WaitResolution[] = [];
    for (const wait of waits) {
      // The step as the run's own version has it (the file may have changed since it started).
      const recipe = this.deps.versions ? await this.deps.versions.of(wait.recipe, wait.recipeVersion) : this.deps.recipes().recipes.get(wait.recipe);
      const step = recipe?.steps.find((s): s is WaitStep => s.id === wait.stepId && s.kind === 'wait');
      if (!step || !step.event.matches(event.source, event.type)) continue;
      if (await waitMatches(step, view, { ...base, trigger: triggerView(wait.trigger) }, (error) => logger.warn({ recipe: wait.recipe, step: wait.stepId, error }, 'wait_for match failed'))) {
        resolutions.push({ runId: wait.runId, stepId: wait.stepId, output: { timed_out: false, event: view } });
      }
    }
    return resolutions;
  }
}

/**
 * A waiting run's trigger as expressions see it, parsed once per pass however many events of the
 * pass are matched against that wait (the waits of a source are read once per pass).
 */
const triggerViews = new WeakMap<EventRecord, Record<string, unknown>>();
function triggerView(trigger: EventRecord): Record<string, unknown> {
  let view = triggerViews.get(trigger);
  if (!view) triggerViews.set(trigger, (view = eventView(trigger)));
  return view;
}

/** An error in one line for operators: its kind unless a plain driver error, and its SQLSTATE or SQLite code. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const kind = ['Error', 'error', 'SqliteError'].includes(error.name) ? '' : `${error.name}: `;
  return `${kind}${error.message}${typeof code === 'string' ? ` (${code})` : ''}`;
}
