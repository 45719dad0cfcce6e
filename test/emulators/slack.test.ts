// @slack/webhook 8 against the Slack emulator.
//
// How the SDK surfaces failures (IncomingWebhook.send rejects):
//   - HTTP status != 2xx  -> IncomingWebhookHTTPError
//       error.statusCode     the status (e.g. 429)
//       error.statusMessage  the reason phrase ('Too Many Requests')
//       error.body           Slack's plain-text body ('rate_limited', 'no_text', ...)
//       error.code           'slack_webhook_http_error'
//     The response HEADERS are not kept: Retry-After is NOT reachable from the error. To read
//     it, pass your own `fetch` in the constructor options and keep the last Response's
//     headers (shown below); the SDK calls that fetch for every attempt.
//   - no response (connection refused/reset, timeout) -> IncomingWebhookRequestError,
//       error.code 'slack_webhook_request_error', error.original / error.cause the fetch error.
// Retries: none by default. With `retryConfig` (node-retry options) it retries only 5xx and
// network errors; 4xx including 429 fail at once (p-retry AbortError), Retry-After is ignored.
import {
  IncomingWebhook,
  IncomingWebhookHTTPError,
  IncomingWebhookRequestError,
  type FetchFunction,
} from '@slack/webhook';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from './slack.ts';

let slack: SlackEmulator;

beforeAll(async () => {
  slack = await startSlackEmulator();
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.reset();
});

async function sendError(webhook: IncomingWebhook, message: Parameters<IncomingWebhook['send']>[0]): Promise<unknown> {
  try {
    await webhook.send(message);
  } catch (error) {
    return error;
  }
  throw new Error('expected send() to reject');
}

describe('Slack incoming webhook emulator with @slack/webhook', () => {
  it('accepts a text message and answers "ok"', async () => {
    const webhook = new IncomingWebhook(slack.webhookUrl, { username: 'hookline' });
    const result = await webhook.send({ text: 'deploy finished' });
    expect(result).toEqual({ text: 'ok' });

    const [request] = await slack.waitFor(1);
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({ username: 'hookline', text: 'deploy finished' });
    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0]?.text).toBe('deploy finished');
  });

  it('accepts a blocks-only message', async () => {
    const webhook = new IncomingWebhook(slack.webhookUrl);
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }];
    await expect(webhook.send({ blocks })).resolves.toEqual({ text: 'ok' });
    expect(slack.messages[0]?.blocks).toEqual(blocks);
  });

  it('rejects a message without text or blocks with 400 no_text', async () => {
    const error = await sendError(new IncomingWebhook(slack.webhookUrl), {});
    expect(error).toBeInstanceOf(IncomingWebhookHTTPError);
    const httpError = error as IncomingWebhookHTTPError;
    expect(httpError.statusCode).toBe(400);
    expect(httpError.body).toBe('no_text');
    expect(slack.delivered).toHaveLength(0);
    expect(slack.requests).toHaveLength(1);
  });

  it('rejects malformed blocks', async () => {
    const webhook = new IncomingWebhook(slack.webhookUrl);
    const notArray = await sendError(webhook, { text: 'x', blocks: 'nope' as unknown as [] });
    expect((notArray as IncomingWebhookHTTPError).body).toBe('invalid_blocks_format');
    const noType = await sendError(webhook, { text: 'x', blocks: [{} as { type: string }] });
    expect((noType as IncomingWebhookHTTPError).body).toBe('invalid_blocks');
  });

  it('answers 403 invalid_token for a wrong secret and 404 no_service for an unknown webhook', async () => {
    const forbidden = (await sendError(new IncomingWebhook(slack.wrongSecretUrl), 'x')) as IncomingWebhookHTTPError;
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.body).toBe('invalid_token');

    const unknown = (await sendError(
      new IncomingWebhook(`${slack.origin}/services/T1/B1/abc`),
      'x',
    )) as IncomingWebhookHTTPError;
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toBe('no_service');
  });

  it('429: status and body on the error, Retry-After only through a custom fetch; never retried', async () => {
    let lastHeaders: Headers | undefined;
    const recordingFetch: FetchFunction = async (url, init) => {
      const response = await fetch(url, init);
      lastHeaders = response.headers;
      return response;
    };
    const webhook = new IncomingWebhook(slack.webhookUrl, {
      fetch: recordingFetch,
      retryConfig: { retries: 3, minTimeout: 1, maxTimeout: 1 },
    });
    slack.failNext({ status: 429, retryAfter: 7 });

    const error = (await sendError(webhook, 'hello')) as IncomingWebhookHTTPError;
    expect(error).toBeInstanceOf(IncomingWebhookHTTPError);
    expect(error.statusCode).toBe(429);
    expect(error.statusMessage).toBe('Too Many Requests');
    expect(error.body).toBe('rate_limited');
    expect(error).not.toHaveProperty('headers');
    expect(lastHeaders?.get('retry-after')).toBe('7');
    // retryConfig does not apply to 4xx: one request only.
    expect(slack.requests).toHaveLength(1);
    expect(slack.pendingFailures()).toBe(0);
  });

  it('500: surfaces rollup_error, and retryConfig retries 5xx until success', async () => {
    slack.failNext(500);
    const once = (await sendError(new IncomingWebhook(slack.webhookUrl), 'x')) as IncomingWebhookHTTPError;
    expect(once.statusCode).toBe(500);
    expect(once.body).toBe('rollup_error');

    slack.reset();
    slack.failNext(500, { status: 502, body: 'bad gateway' });
    const retrying = new IncomingWebhook(slack.webhookUrl, { retryConfig: { retries: 3, minTimeout: 1, maxTimeout: 1 } });
    await expect(retrying.send('third time lucky')).resolves.toEqual({ text: 'ok' });
    expect(slack.requests.map((r) => r.status)).toEqual([500, 502, 200]);
    expect(slack.messages.map((m) => m.text)).toEqual(['third time lucky']);
  });

  it('setDown: 503 while down, a request error when the socket is destroyed, fine after', async () => {
    const webhook = new IncomingWebhook(slack.webhookUrl);
    slack.setDown(true);
    const unavailable = (await sendError(webhook, 'x')) as IncomingWebhookHTTPError;
    expect(unavailable.statusCode).toBe(503);

    slack.setDown(true, 'destroy');
    const network = await sendError(webhook, 'x');
    expect(network).toBeInstanceOf(IncomingWebhookRequestError);
    expect((network as IncomingWebhookRequestError).code).toBe('slack_webhook_request_error');

    slack.setDown(false);
    await expect(webhook.send('back')).resolves.toEqual({ text: 'ok' });
    expect(slack.requests.map((r) => r.status)).toEqual([503, 0, 200]);
    expect(slack.delivered).toHaveLength(1);
  });

  it('waitFor resolves on delivery, not on failed requests, and times out otherwise', async () => {
    const webhook = new IncomingWebhook(slack.webhookUrl);
    slack.failNext(500);
    const waiting = slack.waitFor(1, 5_000);
    await sendError(webhook, 'fails');
    await webhook.send('works');
    const [delivered] = await waiting;
    expect(delivered?.body).toEqual({ text: 'works' });

    await expect(slack.waitFor(2, 50)).rejects.toThrow(/timed out after 50 ms waiting for 2 delivered/);
  });
});
