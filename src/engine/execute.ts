import type { ActionRegistry } from '../actions/registry.ts';
import { isConfigured, type ActionContext } from '../actions/types.ts';
import type { Config } from '../config/schema.ts';
import { parseDuration } from '../config/units.ts';
import type { Conversations } from '../domain/conversations.ts';
import { LeaseLostError, NonRetryableError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { traceStep } from '../observability/tracing.ts';
import type { Redactor } from '../observability/redact.ts';
import { checkRenderedArgs, laneAt, type ActionStep, type CompiledRecipe, type CompiledStep, type WaitStep } from '../recipes/compile.ts';
import { describeJsonataError, ExpressionError, type Bindings } from '../recipes/expressions.ts';
import type { RecipeSet } from '../recipes/load.ts';
import { waitMatches } from '../worker/dispatcher.ts';
import type { AttemptRecord, ClaimedRun, Lease, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { ShutdownError, type DestinationLimiter } from './limiter.ts';
import { decideRetry, statusOf, type RetryPolicy } from './retry.ts';
import { eventView, truthy } from './view.ts';

export interface EngineDeps {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  actions: ActionRegistry;
  recipes: () => RecipeSet;
  conversations: Conversations;
  limiter: DestinationLimiter;
  retry: RetryPolicy;
  env: Record<string, string>;
  /** Applied to run errors and attempt records before they are stored: they are shown to operators. */
  redact: Redactor;
}

/** How an execution ended: the run's new state, or `released` when shutdown came first. */
export type ExecutionResult = 'done' | 'dead' | 'waiting' | 'retrying' | 'released';

/** A step failure that ends the run at once, with a message naming recipe, step and cause. */
class StepFailure extends NonRetryableError {}

/**
 * Runs a claimed recipe run from its first unfinished step. Each step's output is persisted before
 * the next starts, so a retried or taken-over run never repeats a finished step.
 */
export async function executeRun(run: ClaimedRun, owner: string, deps: EngineDeps): Promise<ExecutionResult> {
  const { store, clock } = deps;
  const lease: Lease = { runId: run.id, owner };
  const recipe = deps.recipes().recipes.get(run.recipe);
  if (!recipe) {
    await store.runs.finish(lease, 'dead', `recipe "${run.recipe}" is no longer loaded (removed, renamed or refused)`, undefined, clock.now());
    deps.metrics.runs.inc({ recipe: run.recipe, outcome: 'dead' });
    return 'dead';
  }
  const view = eventView(run.event);
  const outputs: Record<string, unknown> = {};
  const finished = new Set<string>();
  for (const s of run.steps) {
    if (s.status === 'waiting') continue;
    outputs[s.stepId] = s.output;
    finished.add(s.stepId);
  }
  const conversation = recipe.usesConversation ? await deps.conversations.current(view) : undefined;
  // Failed attempts so far belong to the first unfinished step; later steps start from zero.
  let failures = run.attempt;

  for (const [index, step] of recipe.steps.entries()) {
    if (finished.has(step.id)) continue;
    // The lane the run moves to once this step is recorded: what the worker may skip while busy.
    const nextLane = laneAt(recipe, index + 1);
    const bindings: Bindings = { trigger: view, steps: outputs, vars: deps.config.vars, env: deps.env, conversation, clock };
    const startedAt = clock.now();
    try {
      if (step.if && !truthy(await evaluateIf(step, recipe, view, bindings))) {
        const output = { skipped: 'if was false' };
        await store.runs.saveStep(lease, { runId: run.id, stepId: step.id, status: 'skipped', output, startedAt, finishedAt: clock.now() }, undefined, clock.now(), nextLane);
        outputs[step.id] = output;
        continue;
      }
      if (step.kind === 'wait') {
        const resolved = await traceStep(recipe.name, step, 1, () => waitFor(run, lease, recipe, step, view, bindings, deps, nextLane));
        if (resolved === undefined) return 'waiting';
        outputs[step.id] = resolved;
        continue;
      }
      const last = index === recipe.steps.length - 1;
      const result = await traceStep(recipe.name, step, failures + 1, () => runAction(run, lease, recipe, step, view, bindings, failures + 1, deps, nextLane, last));
      if (result === 'done') deps.metrics.runs.inc({ recipe: recipe.name, outcome: 'done' });
      if (typeof result === 'string') return result;
      outputs[step.id] = result.output;
      failures = 0;
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      // Expression failures and the like: the run cannot continue by retrying.
      const message = deps.redact.text(error instanceof StepFailure ? error.message : `recipe ${recipe.name}, step ${step.id}: ${(error as Error).message}`);
      await store.runs.finish(lease, 'dead', message, failedAttempt(run.id, step.id, failures + 1, startedAt, clock.now(), message), clock.now());
      deps.metrics.runs.inc({ recipe: recipe.name, outcome: 'dead' });
      return 'dead';
    }
  }
  await store.runs.finish(lease, 'done', undefined, undefined, clock.now());
  deps.metrics.runs.inc({ recipe: recipe.name, outcome: 'done' });
  return 'done';
}

async function evaluateIf(step: CompiledStep, recipe: CompiledRecipe, view: unknown, bindings: Bindings): Promise<unknown> {
  try {
    return await step.if!.evaluate(view, bindings);
  } catch (error) {
    throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: if expression "${step.if!.source}" failed: ${describeJsonataError(error)}`);
  }
}

function failedAttempt(runId: string, stepId: string, attempt: number, startedAt: number, now: number, error: string): AttemptRecord {
  return { runId, stepId, attempt, startedAt, durationMs: now - startedAt, outcome: 'failed', error };
}

/**
 * wait_for: first look back over the events received since the trigger (an agent may have answered
 * before the wait was registered), then park the run with a durable deadline. Both happen under the
 * dispatch lock, so an event is either seen by the look-back or dispatched after the wait exists.
 */
async function waitFor(
  run: ClaimedRun,
  lease: Lease,
  recipe: CompiledRecipe,
  step: WaitStep,
  view: Record<string, unknown>,
  bindings: Bindings,
  deps: EngineDeps,
  nextLane: string | null,
): Promise<unknown | undefined> {
  const { store, clock } = deps;
  let timeoutMs: number | undefined;
  if (typeof step.timeout === 'number') {
    timeoutMs = step.timeout;
  } else {
    const rendered = await step.timeout.render(view, bindings).catch((error: unknown) => {
      throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: timeout ${(error as Error).message}`);
    });
    timeoutMs = typeof rendered === 'number' ? rendered : parseDuration(String(rendered));
  }
  if (timeoutMs === undefined) throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: timeout "${step.timeout instanceof Object ? step.timeout.source : step.timeout}" is not a duration`);

  const sources = step.event.source === '*' ? ['muro', 'meru'] : [step.event.source];
  return store.dispatch.withLock(async () => {
    const startedAt = clock.now();
    for (const source of sources) {
      for (const candidate of await store.events.after(run.event.seq, source, 10_000)) {
        const candidateView = eventView(candidate);
        const onError = (message: string) => deps.logger.warn({ recipe: recipe.name, step: step.id, error: message }, 'wait_for match failed');
        if (await waitMatches(step, candidateView, { ...bindings, trigger: view }, onError)) {
          const output = { timed_out: false, event: candidateView };
          await store.runs.saveStep(lease, { runId: run.id, stepId: step.id, status: 'done', output, startedAt, finishedAt: clock.now() }, undefined, clock.now(), nextLane);
          return output;
        }
      }
    }
    await store.runs.park(lease, { stepId: step.id, source: step.event.source, type: step.event.type, deadline: startedAt + timeoutMs }, clock.now(), nextLane);
    return undefined;
  });
}

async function runAction(
  run: ClaimedRun,
  lease: Lease,
  recipe: CompiledRecipe,
  step: ActionStep,
  view: Record<string, unknown>,
  bindings: Bindings,
  attempt: number,
  deps: EngineDeps,
  nextLane: string | null,
  /** The recipe's last step: its success ends the run, in the same commit as its record. */
  last: boolean,
): Promise<{ output: unknown } | ExecutionResult> {
  const { store, clock, config, metrics } = deps;
  const action = step.action;
  const startedAt = clock.now();
  let args: unknown;
  try {
    args = await step.args.render(view, bindings);
  } catch (error) {
    const detail = error instanceof ExpressionError ? error.message : describeJsonataError(error);
    throw new StepFailure(`recipe ${recipe.name}, step ${step.id}: ${detail}`);
  }
  const checked = checkRenderedArgs(step, args);
  if (!checked.ok) throw new StepFailure(`recipe ${recipe.name}, ${checked.message}`);
  args = checked.args;

  if (action.connection && !isConfigured(config, action.connection)) {
    const request = deps.redact.value(action.preview(args, config));
    const output = { skipped: `${action.connection} not configured`, request };
    const record: AttemptRecord = { runId: run.id, stepId: step.id, attempt, startedAt, durationMs: 0, outcome: 'skipped', request };
    await store.runs.saveStep(lease, { runId: run.id, stepId: step.id, status: 'skipped', output, startedAt, finishedAt: clock.now() }, record, clock.now(), nextLane);
    metrics.actions.inc({ action: action.name, result: 'skipped' });
    return { output };
  }

  const destination = action.destination?.(args) ?? step.lane;
  try {
    await deps.limiter.acquire(destination);
  } catch (error) {
    if (!(error instanceof ShutdownError)) throw error;
    // Not started: back to the queue at once, for another instance or the next start.
    await store.runs.release(lease, clock.now(), clock.now());
    return 'released';
  }
  const ctx: ActionContext = {
    idempotencyKey: `${run.event.source}:${run.event.eventId}:${recipe.name}:${step.id}${run.generation > 0 ? `:replay-${run.generation}` : ''}`,
    config,
    store,
    clock,
    logger: deps.logger,
    signal: AbortSignal.timeout(config.retry.timeout),
    event: view,
    recipe: recipe.name,
    runId: run.id,
    trace: {},
  };
  const t0 = performance.now();
  let output: unknown;
  try {
    output = await action.execute(args, ctx);
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    const durationMs = performance.now() - t0;
    metrics.stepLatency.observe({ action: action.name }, durationMs / 1000);
    const message = deps.redact.text(`recipe ${recipe.name}, step ${step.id}: ${(error as Error).message}`);
    const decision = decideRetry(error, attempt, deps.retry);
    const record: AttemptRecord = deps.redact.value({
      runId: run.id,
      stepId: step.id,
      attempt,
      startedAt,
      durationMs,
      outcome: decision.retry ? 'retry' : 'failed',
      statusCode: statusOf(error),
      error: (error as Error).message,
      request: ctx.trace.request,
      response: ctx.trace.response,
    });
    if (decision.retry) {
      await store.runs.retryLater(lease, record, clock.now() + decision.delayMs, message, clock.now());
      deps.logger.info({ run: run.id, recipe: recipe.name, step: step.id, attempt, retryInMs: decision.delayMs }, `step failed, will retry: ${message}`);
      metrics.actions.inc({ action: action.name, result: 'retry' });
      return 'retrying';
    }
    const reason = decision.reason === 'exhausted' ? `${message} (gave up after ${attempt} attempts)` : message;
    await store.runs.finish(lease, 'dead', reason, record, clock.now());
    deps.logger.warn({ run: run.id, recipe: recipe.name, step: step.id }, `run dead-lettered: ${reason}`);
    metrics.actions.inc({ action: action.name, result: 'failed' });
    metrics.runs.inc({ recipe: recipe.name, outcome: 'dead' });
    return 'dead';
  } finally {
    deps.limiter.release(destination);
  }
  const durationMs = performance.now() - t0;
  metrics.stepLatency.observe({ action: action.name }, durationMs / 1000);
  metrics.actions.inc({ action: action.name, result: 'ok' });
  const record: AttemptRecord = deps.redact.value({ runId: run.id, stepId: step.id, attempt, startedAt, durationMs, outcome: 'ok', request: ctx.trace.request, response: ctx.trace.response });
  const stepRecord = { runId: run.id, stepId: step.id, status: 'done' as const, output: output ?? null, startedAt, finishedAt: clock.now() };
  if (last) {
    await store.runs.finish(lease, 'done', undefined, record, clock.now(), stepRecord);
    return 'done';
  }
  await store.runs.saveStep(lease, stepRecord, record, clock.now(), nextLane);
  return { output: output ?? null };
}
