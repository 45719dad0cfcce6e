import type { Announcement } from './inbox.ts';

/**
 * Schedules: a recipe's cron ticks, each fired exactly once whatever the number of instances: the
 * first to record (recipe, tick) appends the schedule event in the same transaction.
 */
export interface ScheduleStore {
  /** The latest tick recorded for the recipe (undefined: never fired). */
  lastTick(recipe: string): Promise<number | undefined>;
  /**
   * In one transaction: records (recipe, tick) and appends the event. False (and nothing written)
   * when that tick was already recorded, by this instance or another. Without an event, only the
   * tick is recorded: the baseline of a newly seen schedule (the ticks before it are not owed).
   */
  fire(recipe: string, tick: number, event: Announcement | undefined, now: number): Promise<boolean>;
}
