import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { jsonataText } from '../expression.ts';
import { field, text } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import { macOf, macVerifier } from '../signature.ts';
import { parseTimestampedHeader } from '../timestamped-header.ts';
import type { SourcePreset } from '../types.ts';

/**
 * muro, live chat events (PRODUCT §1).
 * Signed: HMAC-SHA256 over "<t>.<raw body>", keyed by the secret's UTF-8 bytes, hex, in
 * `x-muro-signature: t=<unix>,v1=<hex>[,v1=...]`; the timestamp is checked against the tolerance.
 * Trusted: body `id` (dedup key) and body `type`. Not trusted: `x-muro-event-id` and `x-muro-event`,
 * which muro sends but does not sign; anyone on the path could change them, so they are ignored.
 */

const header = 'x-muro-signature';

const defaultTranscript = { conversation_id: 'data.conversation.id', messages: '$append(data.messages, data.message)', message_id: 'id' };

const options = z.object({
  transcript: z
    .object({
      conversation_id: jsonataText('the conversation id of an event').default(defaultTranscript.conversation_id),
      messages: jsonataText('the messages an event carries').default(defaultTranscript.messages),
      message_id: jsonataText('the id of a message').default(defaultTranscript.message_id),
    })
    .strict()
    .default(defaultTranscript)
    .meta({ description: 'JSONata expressions that find the conversation and its messages in a muro event' }),
});

const samples = loadSamples(
  fileURLToPath(new URL('./samples/', import.meta.url)),
  (_name, body) => text(body.type) ?? 'unknown',
  ['message.created.test'],
);

export const muro: SourcePreset<typeof options> = {
  name: 'muro',
  provider: 'muro',
  webhookSettings: "muro's webhook settings (/app/settings/webhooks)",
  description: 'muro live chat events: x-muro-signature t=<unix>,v1=<hex> over "<t>.<body>"',
  options,
  create: (opts) => ({
    preset: 'muro',
    signatureHeaders: [header],
    replayWindow: true,
    ...macVerifier({ algorithm: 'sha256', parse: (headers) => parseTimestampedHeader(headers, header) }),
    identify: ({ body }) => ({ id: body.id, type: body.type }),
    sign: ({ body, secret, nowSec, id, type }) => ({
      'content-type': 'application/json',
      // Sent as muro sends them; hookline itself reads id and type from the body.
      'x-muro-event': type,
      'x-muro-event-id': id,
      'x-muro-timestamp': String(nowSec),
      [header]: `t=${nowSec},v1=${macOf('sha256', secret, `${nowSec}.`, body).toString('hex')}`,
    }),
    // The types muro's webhook guide names; others are received all the same.
    eventTypes: ['conversation.opened', 'message.created', 'visitor.identified', 'conversation.closed'],
    samples,
    testEvent: ({ type, body }, { id, nowSec }) => ({
      id,
      type,
      body: { ...body, id, type, created_at: isoTime(nowSec), data: { ...(field(body, 'data') as object | undefined), test: true } },
    }),
    newDevSecret: () => randomBytes(24).toString('hex'),
    secretProblem: () => undefined,
    transcript: opts.transcript,
  }),
};
