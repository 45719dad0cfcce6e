import { Cron } from 'croner';
import type { EventRecord } from '../store/types.ts';

/**
 * Recipes on a cron schedule: `on: { schedule: "0 9 * * 1-5", timezone: Europe/Paris }`. Such a
 * recipe starts on the `hookline/schedule` events of its own ticks only (data.recipe is its name);
 * the scheduler (worker/scheduler.ts) appends one event per tick across every instance.
 */
export interface RecipeSchedule {
  /** The cron expression as written (5 fields; 6 with seconds). */
  cron: string;
  /** IANA time zone the expression is read in (default UTC). */
  timezone: string;
  /** Tick times: the latest at or before `at`, and the next after it. */
  previous(at: number): number | undefined;
  next(at: number): number | undefined;
}

export const scheduleEventType = 'schedule';

/** Compiles a schedule; the error says which field is wrong and what it accepts. */
export function compileSchedule(cron: string, timezone = 'UTC'): { schedule: RecipeSchedule } | { error: string; field: 'schedule' | 'timezone' } {
  let pattern: Cron;
  try {
    pattern = new Cron(cron, { paused: true });
  } catch (error) {
    return { field: 'schedule', error: `invalid cron expression "${cron}": ${(error as Error).message.replace(/^CronPattern: /, '')}; expected five fields, minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"` };
  }
  pattern.stop();
  let cronJob: Cron;
  try {
    cronJob = new Cron(cron, { paused: true, timezone });
    cronJob.nextRun(new Date(0));
  } catch {
    return { field: 'timezone', error: `unknown time zone "${timezone}"; expected an IANA name such as Europe/Paris, America/New_York or UTC` };
  }
  return {
    schedule: {
      cron,
      timezone,
      previous: (at) => cronJob.previousRuns(1, new Date(at + 1))[0]?.getTime(),
      next: (at) => cronJob.nextRun(new Date(at))?.getTime(),
    },
  };
}

/** Whether a scheduled recipe starts on this event: only on its own ticks. Other recipes: always (their `on` decided). */
export function ownTick(recipe: { name: string; schedule?: RecipeSchedule | undefined }, event: Pick<EventRecord, 'source' | 'type'>, view: Record<string, unknown>): boolean {
  if (!recipe.schedule) return true;
  return (view.data as { recipe?: unknown } | undefined)?.recipe === recipe.name;
}
