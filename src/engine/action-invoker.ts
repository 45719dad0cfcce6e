import { isConfigured, type ActionContext } from '../actions/types.ts';
import type { Config } from '../config/schema.ts';
import { LeaseLostError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Redactor } from '../observability/redact.ts';
import type { ActionStep } from '../recipes/compile.ts';
import type { ActionRecords } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { ShutdownError, type DestinationLimiter } from './limiter.ts';

/**
 * The engine's port to the actions: it hands over a step with its rendered arguments and gets back
 * what happened. The engine decides what follows (next step, retry, dead letters) and records it.
 * `hookline serve` calls the real actions (liveActions below); `hookline test` records the calls and
 * answers with the test's outputs (test-runner.ts): the same engine runs both.
 */
export interface ActionInvoker {
  invoke(call: ActionCall): Promise<ActionOutcome>;
}

export interface ActionCall {
  runId: string;
  recipe: string;
  step: ActionStep;
  /** Rendered, and checked against the action's schema. */
  args: unknown;
  /** The trigger event, as expressions see it. */
  event: Record<string, unknown>;
  /** (event, recipe, step), plus the replay generation: the same for every attempt of this step. */
  idempotencyKey: string;
}

/** What the destination saw and answered, kept with the attempt. */
export interface Trace {
  request?: unknown;
  response?: unknown;
}

export type ActionOutcome =
  | ({ status: 'ok'; output: unknown; durationMs: number } & Trace)
  | ({ status: 'error'; error: unknown; durationMs: number } & Trace)
  /** Not called: its connection is not configured. `request` is what it would have sent. */
  | { status: 'skipped'; reason: string; request: unknown }
  /** Not started: the worker is stopping; the run goes back to the queue. */
  | { status: 'released' };

export interface LiveActionDeps {
  /** The config in force (a reload may change connections and the timeout). */
  readonly config: Config;
  records: ActionRecords;
  clock: Clock;
  logger: Logger;
  limiter: DestinationLimiter;
  redact: Redactor;
}

/**
 * The real actions: a step whose connection is not configured is skipped with the request it would
 * send; otherwise it waits for a slot of its destination (per-destination cap), then runs with the
 * step timeout.
 */
export function liveActions(deps: LiveActionDeps): ActionInvoker {
  return {
    async invoke(call) {
      const { config } = deps;
      const { action } = call.step;
      if (action.connection && !isConfigured(config, action.connection)) {
        return { status: 'skipped', reason: `${action.connection} not configured`, request: deps.redact.value(action.preview(call.args, config)) };
      }
      const destination = action.destination?.(call.args) ?? call.step.lane;
      try {
        await deps.limiter.acquire(destination);
      } catch (error) {
        if (error instanceof ShutdownError) return { status: 'released' };
        throw error;
      }
      const ctx: ActionContext = {
        idempotencyKey: call.idempotencyKey,
        config,
        records: deps.records,
        clock: deps.clock,
        logger: deps.logger,
        signal: AbortSignal.timeout(config.retry.timeout),
        event: call.event,
        recipe: call.recipe,
        runId: call.runId,
        trace: {},
      };
      const t0 = performance.now();
      try {
        const output = await action.execute(call.args, ctx);
        return { status: 'ok', output: output ?? null, durationMs: performance.now() - t0, ...ctx.trace };
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        return { status: 'error', error, durationMs: performance.now() - t0, ...ctx.trace };
      } finally {
        deps.limiter.release(destination);
      }
    },
  };
}
