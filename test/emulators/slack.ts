// Emulator of Slack incoming webhooks: POST https://hooks.slack.com/services/T…/B…/<secret>.
//
// Wire behaviour reproduced (Slack answers in plain text, not JSON):
//   200 `ok`                       message accepted
//   400 `invalid_payload`          body is not parsable JSON (or form `payload=`)
//   400 `no_text`                  JSON without `text`, `blocks` or `attachments` (what Slack
//                                  answers today; older reports show
//                                  `missing_text_or_fallback_or_attachments`)
//   400 `invalid_blocks_format`    `blocks` is not an array
//   400 `invalid_blocks`           a block is not an object with a string `type`
//   403 `invalid_token`            known team and webhook, wrong secret
//   404 `no_service`               unknown webhook path
//   429 `rate_limited`             (scripted) with Retry-After
//   500 `rollup_error`             (scripted) Slack's catch-all server error string
// Content-Type is text/plain here; captures of real Slack answers show text/html. The SDK
// reads the body as text either way.
import { randomBytes } from 'node:crypto';
import { startEmulator } from './emulator.ts';
import type { Emulator, EmulatorResponse, RecordedRequest, ScriptedFailure } from './emulator.ts';

export interface SlackEmulatorOptions {
  teamId?: string;
  /** The webhook's id (the `B…` segment). */
  webhookId?: string;
  /** The webhook's secret (last path segment). */
  secret?: string;
  /** Channel the webhook posts to, recorded with each message. */
  channel?: string;
}

export interface SlackMessage {
  /** Channel the webhook is bound to (a `channel` in the payload is recorded in `payload`). */
  channel: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  payload: Record<string, unknown>;
  time: number;
}

export interface SlackEmulator extends Emulator {
  /** URL of the one valid webhook: give it to `new IncomingWebhook(url)`. */
  readonly webhookUrl: string;
  /** The same webhook with a wrong secret (answers 403 invalid_token). */
  readonly wrongSecretUrl: string;
  /** Messages accepted (200 ok), in order. */
  readonly messages: SlackMessage[];
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

function text(status: number, body: string): EmulatorResponse {
  return { status, headers: { ...TEXT }, body };
}

/** Slack's plain-text body for a status the emulator is scripted to fail with. */
function failureBody(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status === 400) return 'invalid_payload';
  if (status === 403) return 'action_prohibited';
  if (status === 404) return 'channel_not_found';
  if (status === 410) return 'channel_is_archived';
  if (status === 503) return 'service_unavailable';
  return 'rollup_error';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

export async function startSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const teamId = options.teamId ?? 'T00EMULATE';
  const webhookId = options.webhookId ?? 'B00EMULATE';
  const secret = options.secret ?? randomBytes(12).toString('hex');
  const channel = options.channel ?? '#general';
  const webhookPath = `/services/${teamId}/${webhookId}/${secret}`;
  const messages: SlackMessage[] = [];

  const handler = (req: RecordedRequest): EmulatorResponse => {
    const segments = req.path.split('/').filter((s) => s !== '');
    const [root, team, hook, token] = segments;
    if (root !== 'services' || segments.length !== 4 || team !== teamId || hook !== webhookId) {
      return text(404, 'no_service');
    }
    if (token !== secret) return text(403, 'invalid_token');
    if (req.method !== 'POST') return text(405, 'invalid_method');
    if (req.bodyParseError || !isRecord(req.body)) return text(400, 'invalid_payload');

    const payload = req.body;
    const { blocks } = payload;
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) return text(400, 'invalid_blocks_format');
      if (!blocks.every((b) => isRecord(b) && typeof b['type'] === 'string')) return text(400, 'invalid_blocks');
    }
    const hasText = typeof payload['text'] === 'string' && payload['text'].trim() !== '';
    if (!hasText && !nonEmptyArray(blocks) && !nonEmptyArray(payload['attachments'])) {
      return text(400, 'no_text');
    }
    messages.push({
      channel,
      text: typeof payload['text'] === 'string' ? payload['text'] : undefined,
      blocks: Array.isArray(blocks) ? blocks : undefined,
      payload,
      time: req.time,
    });
    return text(200, 'ok');
  };

  const core = await startEmulator({
    name: 'slack',
    handler,
    failureResponse: (failure: ScriptedFailure) => text(failure.status, failureBody(failure.status)),
  });

  return {
    ...core,
    webhookUrl: `${core.origin}${webhookPath}`,
    wrongSecretUrl: `${core.origin}/services/${teamId}/${webhookId}/not-the-secret`,
    messages,
    reset() {
      core.reset();
      messages.length = 0;
    },
  };
}
