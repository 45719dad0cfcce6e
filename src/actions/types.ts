import type { z } from 'zod';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { ActionRecords } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';

/**
 * Wraps the schema of a scalar argument that an operator may also write as a "{{ ... }}" template.
 * When recipes load it accepts the template text; when a step runs, the rendered value must satisfy
 * the schema itself.
 */
export type Templatable = <T extends z.ZodType>(schema: T) => z.ZodType<z.output<T>>;

export type ConnectionName = 'slack' | 'hubspot' | 'pagerduty' | 'openai';

/** What an action may use while it runs. */
export interface ActionContext {
  /** (event, recipe, step), plus the replay generation: stable across retries of this step. */
  idempotencyKey: string;
  config: Config;
  /** The records an action may write (tickets, tables): never the whole store. */
  records: ActionRecords;
  clock: Clock;
  logger: Logger;
  /** Aborts when the step's time is up (retry.timeout). */
  signal: AbortSignal;
  /** The event that triggered the run, as expressions see it. */
  event: Record<string, unknown>;
  recipe: string;
  runId: string;
  /** Filled by the action: what it sent and what came back, kept with the attempt. */
  trace: { request?: unknown; response?: unknown };
}

export interface ActionDefinition<Args = any> {
  /** The step key that selects the action, e.g. `slack` or `pagerduty.trigger`. */
  name: string;
  description: string;
  /** The connection it needs; unconfigured, the step is `skipped` with the request it would send. */
  connection?: ConnectionName;
  args(t: Templatable): z.ZodType<Args>;
  /** Where it sends, for the per-destination concurrency cap (default: its lane). */
  destination?(args: Args): string;
  /**
   * The destination as far as it is known from the step's arguments as written, templates unrendered
   * (default: its connection, or its name). Runs are queued in that lane.
   */
  lane?(rawArgs: unknown): string | undefined;
  execute(args: Args, ctx: ActionContext): Promise<unknown>;
  /** The request it would send, recorded when its connection is not configured. */
  preview(args: Args, config: Config): unknown;
  /** A plausible output for `hookline test`, which runs recipes offline. */
  fake(args: Args): unknown;
}

/** Whether a connection has its credential; an empty one means "not configured". */
export function isConfigured(config: Config, connection: ConnectionName): boolean {
  const c = config.connections;
  switch (connection) {
    case 'slack':
      return Boolean(c.slack.webhook_url);
    case 'hubspot':
      return Boolean(c.hubspot.access_token);
    case 'pagerduty':
      return Boolean(c.pagerduty.routing_key);
    case 'openai':
      return Boolean(c.openai.api_key);
  }
}
