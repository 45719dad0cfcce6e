import { z } from 'zod';
import { checkHeaders, headerSafe } from './headers.ts';
import { errorForStatus, networkError, parseRetryAfter, truncate } from './http-status.ts';
import type { ActionDefinition } from './types.ts';

type Args = { method: string; url: string; headers: Record<string, string>; body?: unknown; query?: Record<string, string> | undefined };

const sensitive = /^(authorization|proxy-authorization|cookie|x-api-key|api-key)$/i;

function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, sensitive.test(k) ? '[redacted]' : v]));
}

function target(args: Args): string {
  const url = new URL(args.url);
  for (const [k, v] of Object.entries(args.query ?? {})) url.searchParams.set(k, v);
  return url.toString();
}

/** Any JSON HTTP call (Zendesk, Linear, a CRM without an SDK); the response is the step's output. */
export const httpAction: ActionDefinition<Args> = {
  name: 'http',
  description: 'a JSON HTTP request; the response is available to later steps',
  args: (t) =>
    z
      .object({
        method: t(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])).default('POST'),
        url: z.string().refine((u) => u.includes('{{') || URL.canParse(u), { message: 'expected an absolute URL' }),
        headers: z.record(z.string(), z.string()).default({}),
        query: z.record(z.string(), z.string()).optional(),
        body: z.unknown().optional(),
      })
      .strict(),
  destination: (args) => `http:${new URL(args.url).host}`,
  lane: (raw) => {
    const url = (raw as { url?: unknown } | undefined)?.url;
    if (typeof url !== 'string') return undefined;
    // The host is known unless a template stands in the scheme or host part of the URL.
    const prefix = url.split('{{')[0]!;
    const m = /^https?:\/\/([^/?#]+)([/?#]|$)/.exec(prefix);
    if (!m || (m[2] === '' && prefix !== url)) return undefined;
    return `http:${m[1]!.toLowerCase()}`;
  },
  execute: async (args, ctx) => {
    const url = target(args);
    // The key carries the event id: whatever its characters, the header must be sendable (and stable).
    const headers: Record<string, string> = { 'idempotency-key': headerSafe(ctx.idempotencyKey), 'user-agent': 'hookline', ...args.headers };
    const hasBody = args.body !== undefined && args.method !== 'GET';
    if (hasBody && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    ctx.trace.request = { method: args.method, url, headers: redactHeaders(headers), ...(hasBody ? { body: args.body } : {}) };
    checkHeaders(headers);

    let response: Response;
    try {
      response = await fetch(url, {
        method: args.method,
        headers,
        signal: ctx.signal,
        ...(hasBody ? { body: typeof args.body === 'string' ? args.body : JSON.stringify(args.body) } : {}),
      });
    } catch (error) {
      throw networkError(`${args.method} ${url}`, error);
    }
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: kept as text
    }
    ctx.trace.response = { status: response.status, body: typeof body === 'string' ? truncate(body) : body };
    if (!response.ok) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), ctx.clock.now());
      throw errorForStatus(response.status, `${args.method} ${url}`, truncate(text, 300), { retryAfterMs });
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), body };
  },
  preview: (args) => ({ method: args.method, url: target(args), headers: redactHeaders(args.headers), body: args.body }),
  fake: () => ({ status: 200, headers: {}, body: {} }),
};
