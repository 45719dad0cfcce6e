import { parseDuration } from '../config/units.ts';
import type { Conversations } from '../domain/conversations.ts';
import { runDeadNotice } from '../domain/run-dead.ts';
import { LeaseLostError, NonRetryableError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { traceStep } from '../observability/tracing.ts';
import type { FlowGate } from '../flow/gate.ts';
import type { Redactor } from '../observability/redact.ts';
import { checkRenderedArgs, laneAt, type ActionStep, type CompiledRecipe, type CompiledStep, type WaitStep } from '../recipes/compile.ts';
import { describeJsonataError, ExpressionError, type Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { RecipeVersions } from '../recipes/versions.ts';
import { eventView, truthy } from '../recipes/view.ts';
import { waitMatches } from '../recipes/wait-match.ts';
import type { AttemptRecord, ClaimedRun, Lease, RunQueue, StepRecord, WaitStore } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { ActionInvoker } from './action-invoker.ts';
import { decideRetry, statusOf, type RetryPolicy } from './retry.ts';

/** What the engine counts (observability/metrics.ts in a server; nothing in `hookline test`). */
export interface EngineMetrics {
  /** A run ended. */
  run(recipe: string, outcome: 'done' | 'dead'): void;
  /** An attempt of an action step ended; `seconds` when the action was called. */
  action(action: string, result: 'ok' | 'retry' | 'failed' | 'skipped', seconds?: number): void;
}

export interface EngineDeps {
  /** Where a run's progress is recorded; every write checks the lease. */
  queue: Pick<RunQueue, 'saveStep' | 'park' | 'retryLater' | 'release' | 'finish'>;
  /** The look-back of wait_for. */
  waits: Pick<WaitStore, 'lookBack'>;
  /** The dispatch lock (DispatchStore.withLock): a wait_for looks back and parks under it. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** $conversation of recipes that use it. */
  conversations: Pick<Conversations, 'current'>;
  actions: ActionInvoker;
  recipes: () => RecipeSet;
  /** The recipe version a run started with (recipes/versions.ts); without it, the version in force. */
  versions?: Pick<RecipeVersions, 'of'> | undefined;
  /** $vars and $env (read at each run: a config reload changes them). */
  readonly vars: unknown;
  readonly env: Record<string, string>;
  clock: Clock;
  logger: Logger;
  metrics: EngineMetrics;
  readonly retry: RetryPolicy;
  /** Applied to run errors and attempt records before they are stored: they are shown to operators. */
  redact: Redactor;
  /** Flow control of the connections (rate, circuit); none in `hookline test`. */
  flow?: FlowGate | undefined;
  /** Told when a run will want attention again: its wait's deadline, or its retry (the worker's timer). */
  wakeAt?(at: number, why: 'deadline' | 'retry'): void;
}

/**
 * How an execution ended: the run's new state, `released` when shutdown came first, or `held` when
 * flow control (a connection's rate or open circuit) put it back without spending an attempt.
 */
export type ExecutionResult = 'done' | 'dead' | 'waiting' | 'retrying' | 'released' | 'held';

/** A step failure that ends the run at once, with a message naming recipe, step and cause. */
class StepFailure extends NonRetryableError {}

/** One execution of a claimed run: what every step of it needs. */
interface Execution {
  run: ClaimedRun;
  lease: Lease;
  recipe: CompiledRecipe;
  /** The trigger event as expressions see it, parsed once for the whole execution. */
  view: Record<string, unknown>;
  deps: EngineDeps;
  /** The rate slot the run was held for (claimed with it) has been used by a call. */
  slotUsed?: boolean;
}

/** One step of an execution. */
interface StepRun {
  step: CompiledStep;
  bindings: Bindings;
  /** This attempt's number (1-based). */
  attempt: number;
  /** The lane the run moves to once this step is recorded: what a busy worker may skip. */
  nextLane: string | null;
  /** The recipe's last step: its success ends the run, in the same commit as its record. */
  last: boolean;
  startedAt: number;
}

/** A finished step's output, or how the execution ended. */
type StepResult = { output: unknown } | ExecutionResult;

/**
 * Runs a claimed recipe run from its first unfinished step. Each step's output is persisted before
 * the next starts, so a retried or taken-over run never repeats a finished step. Actions are called
 * through `deps.actions`, so `hookline test` runs this same engine with fake actions.
 */
export async function executeRun(run: ClaimedRun, owner: string, deps: EngineDeps): Promise<ExecutionResult> {
  const { clock } = deps;
  const lease: Lease = { runId: run.id, owner };
  const recipe = deps.versions ? await deps.versions.of(run.recipe, run.recipeVersion) : deps.recipes().recipes.get(run.recipe);
  if (!recipe) {
    const error = `recipe "${run.recipe}" is no longer loaded (removed, renamed or refused)`;
    const now = clock.now();
    await deps.queue.finish(lease, { status: 'dead', error, now, announce: runDeadNotice({ id: run.id, recipe: run.recipe, since: run.updatedAt }, run.event, null, error, now) });
    deps.metrics.run(run.recipe, 'dead');
    return 'dead';
  }
  const exec: Execution = { run, lease, recipe, view: run.view ?? eventView(run.event), deps };
  const outputs: Record<string, unknown> = {};
  const finished = new Set<string>();
  for (const s of run.steps) {
    if (s.status === 'waiting') continue;
    outputs[s.stepId] = s.output;
    finished.add(s.stepId);
  }
  const conversation = recipe.usesConversation ? await deps.conversations.current(exec.view) : undefined;
  // Failed attempts so far belong to the first unfinished step; later steps start from zero.
  let failures = run.attempt;

  for (const [index, step] of recipe.steps.entries()) {
    if (finished.has(step.id)) continue;
    const current: StepRun = {
      step,
      bindings: { trigger: exec.view, steps: outputs, vars: deps.vars, env: deps.env, conversation, clock },
      attempt: failures + 1,
      nextLane: laneAt(recipe, index + 1),
      last: index === recipe.steps.length - 1,
      startedAt: clock.now(),
    };
    let result: StepResult;
    try {
      result = await traceStep(recipe.name, step, current.attempt, () => runStep(exec, current));
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      // Expression failures and the like: the run cannot continue by retrying.
      const message = deps.redact.text(error instanceof StepFailure ? error.message : `recipe ${recipe.name}, step ${step.id}: ${(error as Error).message}`);
      const attempt: AttemptRecord = { runId: run.id, stepId: step.id, attempt: current.attempt, startedAt: current.startedAt, durationMs: clock.now() - current.startedAt, outcome: 'failed', error: message };
      return die(exec, message, attempt);
    }
    if (typeof result === 'string') return result;
    outputs[step.id] = result.output;
    failures = 0;
  }
  await deps.queue.finish(lease, { status: 'done', now: clock.now() });
  deps.metrics.run(recipe.name, 'done');
  return 'done';
}

async function runStep(exec: Execution, current: StepRun): Promise<StepResult> {
  const { step } = current;
  if (step.if && !truthy(await evaluateIf(exec, current))) {
    const output = { skipped: 'if was false' };
    await save(exec, current, { status: 'skipped', output });
    return { output };
  }
  if (step.kind === 'wait') {
    const resolved = await waitFor(exec, current, step);
    return resolved === undefined ? 'waiting' : { output: resolved };
  }
  return runAction(exec, current, step);
}

async function evaluateIf({ recipe, view }: Execution, { step, bindings }: StepRun): Promise<unknown> {
  try {
    return await step.if!.evaluate(view, bindings);
  } catch (error) {
    throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: if expression "${step.if!.source}" failed: ${describeJsonataError(error)}`);
  }
}

/** Records a finished step (the run goes on with the next), or, for the last step, ends the run with it. */
async function save({ run, lease, deps }: Execution, current: StepRun, record: Pick<StepRecord, 'status' | 'output'>, attempt?: AttemptRecord): Promise<void> {
  const now = deps.clock.now();
  const step: StepRecord = { runId: run.id, stepId: current.step.id, ...record, startedAt: current.startedAt, finishedAt: now };
  await deps.queue.saveStep(lease, { step, attempt, now, nextLane: current.nextLane });
}

/** The run goes to dead letters with its error (and the attempt that failed), announced by hookline/run.dead. */
async function die({ run, lease, recipe, deps }: Execution, error: string, attempt: AttemptRecord): Promise<ExecutionResult> {
  const now = deps.clock.now();
  // The claim set updatedAt: the start of the execution that died.
  const announce = runDeadNotice({ id: run.id, recipe: recipe.name, since: run.updatedAt }, run.event, attempt.stepId, error, now);
  await deps.queue.finish(lease, { status: 'dead', error, attempt, now, announce });
  deps.metrics.run(recipe.name, 'dead');
  return 'dead';
}

/**
 * wait_for: first look back over the events dispatched since the trigger (an agent may have answered
 * before the wait was registered), then park the run with a durable deadline. Both happen under the
 * dispatch lock, so an event is either seen by the look-back or dispatched after the wait exists.
 */
async function waitFor(exec: Execution, current: StepRun, step: WaitStep): Promise<unknown | undefined> {
  const { run, lease, recipe, view, deps } = exec;
  const { clock } = deps;
  let timeoutMs: number | undefined;
  if (typeof step.timeout === 'number') {
    timeoutMs = step.timeout;
  } else {
    const rendered = await step.timeout.render(view, current.bindings).catch((error: unknown) => {
      throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: timeout ${(error as Error).message}`);
    });
    timeoutMs = typeof rendered === 'number' ? rendered : parseDuration(String(rendered));
  }
  if (timeoutMs === undefined) throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: timeout "${step.timeout instanceof Object ? step.timeout.source : step.timeout}" is not a duration`);

  return deps.withLock(async () => {
    const startedAt = clock.now();
    // A source glob (`*/message.created`) looks back over every source; the match below filters.
    const source = step.event.source.includes('*') ? undefined : step.event.source;
    const onError = (message: string) => deps.logger.warn({ recipe: recipe.name, step: step.id, error: message }, 'wait_for match failed');
    for (const candidate of await deps.waits.lookBack({ after: run.event.seq, source, limit: 10_000 })) {
      const candidateView = eventView(candidate);
      if (await waitMatches(step, candidateView, { ...current.bindings, trigger: view }, onError)) {
        const output = { timed_out: false, event: candidateView };
        await save(exec, { ...current, startedAt }, { status: 'done', output });
        return output;
      }
    }
    const wait = { stepId: step.id, source: step.event.source, type: step.event.type, deadline: startedAt + timeoutMs };
    await deps.queue.park(lease, { wait, now: clock.now(), nextLane: current.nextLane });
    deps.wakeAt?.(wait.deadline, 'deadline');
    return undefined;
  });
}

/** Renders the step's arguments, calls the action through the invoker, and records what came of it. */
async function runAction(exec: Execution, current: StepRun, step: ActionStep): Promise<StepResult> {
  const { run, lease, recipe, view, deps } = exec;
  const { clock, metrics } = deps;
  const { attempt, startedAt } = current;
  let args: unknown;
  try {
    args = await step.args.render(view, current.bindings);
  } catch (error) {
    const detail = error instanceof ExpressionError ? error.message : describeJsonataError(error);
    throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: ${detail}`);
  }
  const checked = checkRenderedArgs(step, args);
  if (!checked.ok) throw new StepFailure(`recipe ${recipe.name}, ${checked.message}`);
  const connection = step.action.connection;
  const flow = connection ? deps.flow : undefined;
  if (flow && connection) {
    const admission = await flow.before(connection, { id: run.id, hold: exec.slotUsed ? null : run.hold, availableAt: run.availableAt }, clock.now());
    exec.slotUsed = true;
    if (!admission.go) return hold(exec, connection, admission.reason, admission.until);
  }

  const outcome = await deps.actions.invoke({
    runId: run.id,
    recipe: recipe.name,
    step,
    args: checked.args,
    event: view,
    idempotencyKey: `${run.event.source}:${run.event.eventId}:${recipe.name}:${step.id}${run.generation > 0 ? `:replay-${run.generation}` : ''}`,
  });
  const base = { runId: run.id, stepId: step.id, attempt, startedAt };
  switch (outcome.status) {
    case 'released':
      // Not started: back to the queue at once, for another instance or the next start.
      await deps.queue.release(lease, { availableAt: clock.now(), now: clock.now() });
      return 'released';
    case 'skipped': {
      const output = { skipped: outcome.reason, request: outcome.request };
      await save(exec, current, { status: 'skipped', output }, { ...base, durationMs: 0, outcome: 'skipped', request: outcome.request });
      metrics.action(step.action.name, 'skipped');
      return { output };
    }
    case 'error': {
      const { error, durationMs } = outcome;
      const message = deps.redact.text(`recipe ${recipe.name}, step ${step.id}: ${(error as Error).message}`);
      const circuit = flow && connection ? await flow.after(connection, run.id, error, clock.now()) : { open: false as const };
      if (circuit.open) {
        // The connection is down: the run waits for the circuit's probe, this attempt kept but not spent.
        const record: AttemptRecord = deps.redact.value({ ...base, durationMs, outcome: 'retry', statusCode: statusOf(error), error: (error as Error).message, request: outcome.request, response: outcome.response });
        metrics.action(step.action.name, 'retry', durationMs / 1000);
        deps.logger.info({ run: run.id, recipe: recipe.name, step: step.id, connection, until: circuit.until }, `step failed and ${connection}'s circuit is open; it waits: ${message}`);
        return hold(exec, connection!, `circuit:${connection}`, circuit.until, record);
      }
      const decision = decideRetry(error, attempt, deps.retry);
      const record: AttemptRecord = deps.redact.value({
        ...base,
        durationMs,
        outcome: decision.retry ? 'retry' : 'failed',
        statusCode: statusOf(error),
        error: (error as Error).message,
        request: outcome.request,
        response: outcome.response,
      });
      metrics.action(step.action.name, decision.retry ? 'retry' : 'failed', durationMs / 1000);
      if (decision.retry) {
        const availableAt = clock.now() + decision.delayMs;
        await deps.queue.retryLater(lease, { attempt: record, availableAt, error: message, now: clock.now() });
        deps.wakeAt?.(availableAt, 'retry');
        deps.logger.info({ run: run.id, recipe: recipe.name, step: step.id, attempt, retryInMs: decision.delayMs }, `step failed, will retry: ${message}`);
        return 'retrying';
      }
      const reason = decision.reason === 'exhausted' ? `${message} (gave up after ${attempt} attempts)` : message;
      const ended = await die(exec, reason, record);
      // After the commit: whoever reads the log line finds the dead letter stored.
      deps.logger.warn({ run: run.id, recipe: recipe.name, step: step.id }, `run dead-lettered: ${reason}`);
      return ended;
    }
    case 'ok': {
      const { output, durationMs } = outcome;
      if (flow && connection) await flow.after(connection, run.id, undefined, clock.now());
      metrics.action(step.action.name, 'ok', durationMs / 1000);
      const record: AttemptRecord = deps.redact.value({ ...base, durationMs, outcome: 'ok', request: outcome.request, response: outcome.response });
      if (!current.last) {
        await save(exec, current, { status: 'done', output }, record);
        return { output };
      }
      const now = clock.now();
      await deps.queue.finish(lease, { status: 'done', attempt: record, step: { runId: run.id, stepId: step.id, status: 'done', output, startedAt, finishedAt: now }, now });
      metrics.run(recipe.name, 'done');
      return 'done';
    }
  }
}

/** Flow control holds the run: back to the queue, due at `until`, no attempt spent (the worker's timer wakes it). */
async function hold({ run, lease, deps }: Execution, connection: string, reason: string, until: number, attempt?: AttemptRecord): Promise<ExecutionResult> {
  const now = deps.clock.now();
  await deps.flow!.hold(lease, { reason, availableAt: until, attempt, now });
  deps.flow!.held?.(connection, reason.startsWith('rate:') ? 'rate' : 'circuit');
  deps.wakeAt?.(until, 'retry');
  deps.logger.debug({ run: run.id, reason, until }, 'step held by flow control');
  return 'held';
}
