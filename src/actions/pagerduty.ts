import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { errorForStatus, networkError, parseRetryAfter, truncate } from './http-status.ts';
import type { ActionContext, ActionDefinition } from './types.ts';

/**
 * pdjs always calls https://<server>/v2/enqueue: `connections.pagerduty.base_url` gives the server
 * (host and port). pdjs retries a 429 by itself, three times; its pause between them is set to 1 s
 * here, and hookline's own schedule takes over after that.
 */
function server(config: Config): string {
  return new URL(config.connections.pagerduty.base_url).host;
}

/** The Events API endpoint as configured (an http:// base URL is only ever a local stand-in). */
function endpoint(config: Config): string {
  const base = new URL(config.connections.pagerduty.base_url);
  return `${base.protocol === 'http:' ? 'http' : 'https'}://${base.host}/v2/enqueue`;
}

type EventsResponse = { status: number; ok: boolean; data?: unknown; headers: { get(name: string): string | null } };

async function send(ctx: ActionContext, data: Record<string, unknown>) {
  const url = endpoint(ctx.config);
  const body = { routing_key: ctx.config.connections.pagerduty.routing_key!, ...data };
  ctx.trace.request = { method: 'POST', url, body: { ...data, routing_key: '[redacted]' } };
  let response: EventsResponse;
  try {
    if (url.startsWith('http:')) {
      // pdjs cannot speak plain HTTP (it builds https:// itself). A plain-http base URL, such as a
      // local stand-in of PagerDuty, gets the same Events API v2 request through fetch instead.
      const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: ctx.signal });
      const text = await answer.text();
      response = { status: answer.status, ok: answer.ok, headers: answer.headers, data: text ? JSON.parse(text) : undefined };
    } else {
      // Loaded on first use: a server whose recipes never page does not hold the SDK in memory.
      const { event } = await import('@pagerduty/pdjs');
      response = (await event({
        server: server(ctx.config),
        data: body as never,
        retryTimeout: 1000,
        // node-fetch options, passed through by pdjs: the step's deadline.
        ...({ signal: ctx.signal, timeout: ctx.config.retry.timeout } as object),
      })) as never;
    }
  } catch (error) {
    const e = error as { type?: string };
    // A non-JSON answer makes pdjs reject with node-fetch's invalid-json error: the status is lost.
    if (e.type === 'invalid-json') throw networkError('PagerDuty (answer was not JSON)', error);
    throw networkError('PagerDuty', error);
  }
  ctx.trace.response = { status: response.status, body: response.data };
  if (!response.ok) {
    const body = response.data as { message?: string; errors?: string[] } | undefined;
    const detail = truncate([body?.message, ...(body?.errors ?? [])].filter(Boolean).join('; '), 300);
    throw errorForStatus(response.status, 'PagerDuty Events API', detail, { retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), ctx.clock.now()), connection: 'pagerduty' });
  }
  return response.data as { status: string; message: string; dedup_key: string };
}

type TriggerArgs = { summary: string; severity: 'critical' | 'error' | 'warning' | 'info'; dedup_key?: string | undefined; source: string; component?: string | undefined; group?: string | undefined; class?: string | undefined; custom_details?: unknown };

export const pagerdutyTrigger: ActionDefinition<TriggerArgs> = {
  name: 'pagerduty.trigger',
  description: 'open (or add to) a PagerDuty incident through the Events API v2',
  connection: 'pagerduty',
  args: (t) =>
    z
      .object({
        summary: z.string().min(1).max(1024),
        severity: t(z.enum(['critical', 'error', 'warning', 'info'])).default('error'),
        dedup_key: z.string().max(255).optional().meta({ description: 'one incident per key; resolve with the same key' }),
        source: z.string().default('hookline'),
        component: z.string().optional(),
        group: z.string().optional(),
        class: z.string().optional(),
        custom_details: z.unknown().optional(),
      })
      .strict() as never,
  execute: async (args, ctx) => {
    // Test events (muro's "Send test event") never page anyone, whatever the recipe says.
    if (ctx.event.test === true) return { skipped: 'test event: nobody is paged' };
    const { summary, severity, source, component, group, custom_details } = args;
    const answer = await send(ctx, {
      event_action: 'trigger',
      dedup_key: args.dedup_key ?? ctx.idempotencyKey,
      payload: { summary, severity, source, ...(component ? { component } : {}), ...(group ? { group } : {}), ...(args.class ? { class: args.class } : {}), ...(custom_details === undefined ? {} : { custom_details }) },
    });
    return { dedup_key: answer.dedup_key, status: answer.status, message: answer.message };
  },
  preview: (args, config) => ({ method: 'POST', url: endpoint(config), body: { event_action: 'trigger', dedup_key: args.dedup_key, payload: { summary: args.summary, severity: args.severity, source: args.source } } }),
  fake: (args) => ({ dedup_key: args.dedup_key ?? 'fake', status: 'success' }),
};

type ResolveArgs = { dedup_key: string };

export const pagerdutyResolve: ActionDefinition<ResolveArgs> = {
  name: 'pagerduty.resolve',
  description: 'resolve the PagerDuty incident with this dedup_key',
  connection: 'pagerduty',
  args: () => z.object({ dedup_key: z.string().min(1).max(255) }).strict(),
  execute: async (args, ctx) => {
    if (ctx.event.test === true) return { skipped: 'test event: nothing to resolve' };
    const answer = await send(ctx, { event_action: 'resolve', dedup_key: args.dedup_key });
    return { dedup_key: answer.dedup_key, status: answer.status, message: answer.message };
  },
  preview: (args, config) => ({ method: 'POST', url: endpoint(config), body: { event_action: 'resolve', dedup_key: args.dedup_key } }),
  fake: (args) => ({ dedup_key: args.dedup_key, status: 'success' }),
};
