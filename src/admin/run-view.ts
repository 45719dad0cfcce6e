import type { AttemptRecord, RunDetail, StepRecord, StepStatus } from '../store/types.ts';

/**
 * What a run did, step by step, as the console, `hookline show` and the admin API all show it.
 *
 * The store records a step only once it is finished (done, skipped) or waiting, and every attempt of
 * an action. So a step whose attempts failed has no step record: its state comes from the run's (a
 * dead run's failing step is `failed`, a retrying run's is `retrying`). The engine numbers attempts
 * within one round of retries, starting again at 1 when a dead run is retried; shown here, a step's
 * attempts are numbered in the order they were made, across rounds.
 */
export type StepState = StepStatus | 'failed' | 'retrying' | 'queued' | 'running' | 'not reached';

export interface StepView {
  id: string;
  status: StepState;
  /** Why a step was skipped ("slack not configured", "if was false"), or the last error of one that failed. */
  reason: string | null;
  output: unknown;
  startedAt: number | null;
  finishedAt: number | null;
  /** This step's attempts, oldest first, numbered from 1. */
  attempts: AttemptRecord[];
}

type RunFacts = Pick<RunDetail, 'status' | 'error' | 'steps' | 'attempts'>;

/**
 * The run's steps: those it recorded and those it attempted, in the order they ran; with `planned`
 * (the recipe's step ids, when it is loaded), every step of the recipe, the rest `not reached`.
 * `attempts` is every attempt of the run, renumbered per step.
 */
export function stepsOf(run: RunFacts, planned?: readonly string[]): { steps: StepView[]; attempts: AttemptRecord[] } {
  const counters = new Map<string, number>();
  const attempts = run.attempts.map((a) => {
    const n = (counters.get(a.stepId) ?? 0) + 1;
    counters.set(a.stepId, n);
    return { ...a, attempt: n };
  });
  const recorded = new Map(run.steps.map((s) => [s.stepId, s]));
  const ids = [...new Set([...(planned ?? []), ...run.steps.map((s) => s.stepId), ...attempts.map((a) => a.stepId)])];
  const steps = ids.map((id) => stepView(id, recorded.get(id), attempts.filter((a) => a.stepId === id), run));
  return { steps: planned ? steps : steps.filter((s) => s.status !== 'not reached'), attempts };
}

function stepView(id: string, step: StepRecord | undefined, attempts: AttemptRecord[], run: RunFacts): StepView {
  if (step) {
    const skipped = (step.output as { skipped?: unknown } | null)?.skipped;
    const reason = step.status === 'skipped' && typeof skipped === 'string' ? skipped : null;
    return { id, status: step.status, reason, output: step.output, startedAt: step.startedAt, finishedAt: step.finishedAt, attempts };
  }
  const last = attempts.at(-1);
  if (!last) return { id, status: 'not reached', reason: null, output: null, startedAt: null, finishedAt: null, attempts };
  // Attempted but not finished: the step the run is at (or died at).
  const status: StepState = run.status === 'dead' ? 'failed' : run.status === 'retrying' || run.status === 'queued' || run.status === 'running' ? run.status : 'failed';
  return {
    id,
    status,
    reason: last.error ?? run.error,
    output: null,
    startedAt: attempts[0]!.startedAt,
    finishedAt: status === 'failed' ? last.startedAt + last.durationMs : null,
    attempts,
  };
}

/** A step skipped for a reason worth a look (a connection not configured), not the ordinary "if was false". */
export function notableSkip(step: { status: string; reason: string | null }): boolean {
  return step.status === 'skipped' && step.reason !== null && step.reason !== 'if was false';
}
