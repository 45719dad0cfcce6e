import { digestSnapshot } from '../domain/digest-snapshot.ts';
import { hooklineSource } from '../domain/run-dead.ts';
import type { Logger } from '../observability/logger.ts';
import type { CompiledRecipe } from '../recipes/compile.ts';
import type { RecipeSet } from '../recipes/load.ts';
import { scheduleEventType } from '../recipes/schedule.ts';
import type { Announcement, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

export interface SchedulerDeps {
  store: Pick<Store, 'schedules' | 'read'>;
  clock: Clock;
  logger: Logger;
  recipes: () => RecipeSet;
  /** Events were appended: dispatch them. */
  wake: () => void;
}

/** The schedule event's id is remembered as long as a received event's (its tick row is kept for good). */
const dedupTtlMs = 24 * 3600_000;
/** The longest the timer sleeps: a clock change or a reload is noticed within it. */
const maxSleepMs = 60_000;

/**
 * Fires recipes' cron ticks: for each enabled scheduled recipe, the latest tick at or before now, if
 * no instance recorded it yet, becomes one `hookline/schedule` event. The store's (recipe, tick) row
 * decides between instances, in the transaction that appends the event, so a tick fires exactly once
 * across instances and restarts. Ticks missed while every instance was down are not replayed one by
 * one: the latest fires once (data.missed says how many were skipped before it). A schedule seen for
 * the first time records its latest past tick without firing: it starts with its next tick.
 */
export class Scheduler {
  private readonly deps: SchedulerDeps;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private checking: Promise<number> | undefined;
  /** Per recipe and schedule: the next tick after the last one handled here; until then a check costs nothing. */
  private readonly nextAt = new Map<string, number>();

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
  }

  start(): void {
    this.running = true;
    this.loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Fires what is due now; returns how many events were appended. Tests drive it through the worker's tick. */
  check(): Promise<number> {
    // One check at a time in this process (the timer and a tick may meet).
    this.checking ??= this.checkAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkAll(): Promise<number> {
    let fired = 0;
    for (const recipe of this.deps.recipes().recipes.values()) {
      if (!recipe.enabled || !recipe.schedule) continue;
      try {
        if (await this.checkOne(recipe)) fired++;
      } catch (error) {
        this.deps.logger.warn({ recipe: recipe.name, err: error }, 'checking the schedule failed; trying again at the next check');
      }
    }
    if (fired > 0) this.deps.wake();
    return fired;
  }

  private async checkOne(recipe: CompiledRecipe): Promise<boolean> {
    const { store, clock } = this.deps;
    const schedule = recipe.schedule!;
    const now = clock.now();
    const memo = `${recipe.name}\n${schedule.cron}\n${schedule.timezone}`;
    if (now < (this.nextAt.get(memo) ?? -Infinity)) return false;
    const due = schedule.previous(now);
    if (due === undefined) return false;
    const last = await store.schedules.lastTick(recipe.name);
    // Whatever happens below, no tick is due here before the next one (another instance may fire it).
    const remember = () => this.nextAt.set(memo, schedule.next(now) ?? Infinity);
    if (last === undefined) {
      await store.schedules.fire(recipe.name, due, undefined, now);
      remember();
      return false;
    }
    if (due <= last) {
      remember();
      return false;
    }
    let missed = 0;
    for (let t = schedule.next(last); t !== undefined && t < due && missed < 10_000; t = schedule.next(t)) missed++;
    const event = await this.event(recipe, due, last, missed, now);
    const fired = await store.schedules.fire(recipe.name, due, event, now);
    remember();
    if (fired) this.deps.logger.info({ recipe: recipe.name, tick: new Date(due).toISOString(), missed }, 'schedule tick fired');
    return fired;
  }

  private async event(recipe: CompiledRecipe, tick: number, previous: number, missed: number, now: number): Promise<Announcement> {
    const schedule = recipe.schedule!;
    const id = `schedule:${recipe.name}:${new Date(tick).toISOString()}`;
    const body = {
      id,
      type: scheduleEventType,
      created_at: new Date(now).toISOString(),
      data: {
        recipe: recipe.name,
        scheduled_at: new Date(tick).toISOString(),
        schedule: schedule.cron,
        timezone: schedule.timezone,
        previous_tick: new Date(previous).toISOString(),
        missed,
        snapshot: await digestSnapshot(this.deps.store, previous, now),
      },
    };
    return { event: { source: hooklineSource, eventId: id, type: scheduleEventType, receivedAt: now, headers: {}, body: JSON.stringify(body), test: false }, dedupTtlMs };
  }

  /** Sleeps until the earliest next tick (at most a minute), checks, and again. */
  private loop(): void {
    if (!this.running) return;
    const now = this.deps.clock.now();
    const next = Math.min(...[...this.deps.recipes().recipes.values()].flatMap((r) => (r.enabled && r.schedule ? [r.schedule.next(now) ?? Infinity] : [])), Infinity);
    const delay = Math.max(0, Math.min(next - now, maxSleepMs));
    this.check().then(
      () => {
        if (!this.running) return;
        this.timer = setTimeout(() => this.loop(), delay + 5);
        this.timer.unref();
      },
      () => {},
    );
  }
}
