import type { FetchFunction } from '@slack/webhook';
import { z } from 'zod';
import { errorForStatus, networkError, parseRetryAfter } from './http-status.ts';
import type { ActionDefinition } from './types.ts';

type Args = { text: string; blocks?: unknown[] | undefined; username?: string | undefined; icon_emoji?: string | undefined; unfurl_links?: boolean | undefined };

/** Posts to a Slack incoming webhook (connections.slack.webhook_url) with the official @slack/webhook. */
export const slackAction: ActionDefinition<Args> = {
  name: 'slack',
  description: 'post text or blocks to a Slack incoming webhook',
  connection: 'slack',
  args: (t) =>
    z
      .object({
        text: z.string().min(1).meta({ description: 'the message; also the notification text when blocks are given' }),
        blocks: z.array(z.unknown()).optional(),
        username: z.string().optional(),
        icon_emoji: z.string().optional(),
        unfurl_links: t(z.boolean()).optional(),
      })
      .strict(),
  execute: async (args, ctx) => {
    // Loaded on first use: a server whose recipes never post to Slack does not hold the SDK in memory.
    const { IncomingWebhook, IncomingWebhookHTTPError, IncomingWebhookRequestError } = await import('@slack/webhook');
    const url = ctx.config.connections.slack.webhook_url!;
    let retryAfter: string | null = null;
    // The SDK keeps no response headers on its errors; this fetch keeps Retry-After and the step's deadline.
    const fetchWithDeadline: FetchFunction = async (input, init) => {
      const response = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, ctx.signal]) : ctx.signal });
      retryAfter = response.headers.get('retry-after');
      return response;
    };
    const webhook = new IncomingWebhook(url, { fetch: fetchWithDeadline, timeout: ctx.config.retry.timeout });
    const message = { text: args.text, ...(args.blocks ? { blocks: args.blocks as never } : {}), ...pick(args) };
    ctx.trace.request = { url: redactWebhook(url), body: message };
    try {
      const result = await webhook.send(message);
      ctx.trace.response = { status: 200, body: result.text };
      return { ok: true, text: result.text };
    } catch (error) {
      if (error instanceof IncomingWebhookHTTPError) {
        ctx.trace.response = { status: error.statusCode, body: error.body };
        throw errorForStatus(error.statusCode, 'Slack webhook', error.body, { retryAfterMs: parseRetryAfter(retryAfter, ctx.clock.now()), connection: 'slack' });
      }
      if (error instanceof IncomingWebhookRequestError) throw networkError('Slack webhook', error.original);
      throw error;
    }
  },
  preview: (args, config) => ({ url: config.connections.slack.webhook_url ? redactWebhook(config.connections.slack.webhook_url) : '(connections.slack.webhook_url)', body: { text: args.text, ...(args.blocks ? { blocks: args.blocks } : {}), ...pick(args) } }),
  fake: () => ({ ok: true, text: 'ok' }),
};

function pick(args: Args) {
  return {
    ...(args.username ? { username: args.username } : {}),
    ...(args.icon_emoji ? { icon_emoji: args.icon_emoji } : {}),
    ...(args.unfurl_links === undefined ? {} : { unfurl_links: args.unfurl_links }),
  };
}

/** The secret part of a webhook URL is its path; logs and attempt records keep only the host. */
function redactWebhook(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(webhook url)';
  }
}
