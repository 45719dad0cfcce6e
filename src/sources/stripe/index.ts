import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { text } from '../headers.ts';
import { loadSamples } from '../samples.ts';
import { macOf, macVerifier } from '../signature.ts';
import { parseTimestampedHeader } from '../timestamped-header.ts';
import type { SourcePreset } from '../types.ts';

/**
 * Stripe webhooks.
 * Signed: HMAC-SHA256 over "<t>.<raw body>", hex, in `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`
 * (Stripe sends several v1 entries while an endpoint secret is being rolled; v0 test entries are
 * ignored). The key is the endpoint secret `whsec_...` as UTF-8, not decoded.
 * Trusted: body `id` (evt_..., the dedup key) and body `type`, both signed.
 */

const header = 'stripe-signature';

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name, body) => text(body.type) ?? name);

export const stripe: SourcePreset<z.ZodObject> = {
  name: 'stripe',
  provider: 'Stripe',
  description: 'Stripe: Stripe-Signature t=<unix>,v1=<hex> over "<t>.<body>"',
  options: z.object({}),
  create: () => ({
    preset: 'stripe',
    signatureHeaders: [header],
    replayWindow: true,
    ...macVerifier({ algorithm: 'sha256', parse: (headers) => parseTimestampedHeader(headers, header) }),
    identify: ({ body }) => ({ id: body.id, type: body.type }),
    sign: ({ body, secret, nowSec }) => ({
      'content-type': 'application/json',
      [header]: `t=${nowSec},v1=${macOf('sha256', secret, `${nowSec}.`, body).toString('hex')}`,
    }),
    samples,
    testEvent: ({ type, body }, { id, nowSec }) => ({ id, type, body: { ...body, id, type, created: nowSec } }),
    newDevSecret: () => `whsec_${randomBytes(16).toString('hex')}`,
    secretProblem: (secret) =>
      secret.startsWith('sk_') || secret.startsWith('rk_') || secret.startsWith('pk_')
        ? 'this is a Stripe API key; the webhook signing secret (whsec_...) is on the endpoint\'s page in the Stripe dashboard'
        : undefined,
  }),
};
