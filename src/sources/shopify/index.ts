import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { headerValue } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import { decodeBase64, digestBytes, macOf, macVerifier, malformed, missing, type SignedParts } from '../signature.ts';
import type { RequestHeaders, SourcePreset } from '../types.ts';

/**
 * Shopify webhooks.
 * Signed: HMAC-SHA256 over the raw body only, base64, in `X-Shopify-Hmac-Sha256: <base64>`, keyed
 * by the app's client secret as UTF-8. Shopify signs no timestamp: there is no replay window, and a
 * replayed delivery is stopped only by dedup on its webhook id (within dedup_ttl).
 * Identity: `X-Shopify-Webhook-Id` (id) and `X-Shopify-Topic` (type, e.g. `orders/create`). Those
 * headers are not signed: the body MAC proves the delivery came from Shopify, not that its id and
 * topic headers were left unchanged on the way.
 */

const header = 'x-shopify-hmac-sha256';

function parse(headers: RequestHeaders): SignedParts {
  const value = headerValue(headers, header);
  if (value === undefined) throw missing(header);
  const signature = decodeBase64(value, digestBytes.sha256);
  if (!signature) throw malformed(header, 'not a base64 SHA-256 digest');
  return { signatures: [signature], before: '' };
}

// Files are named with a dot where the topic has a slash: orders.create.json is `orders/create`.
const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name) => name.replace('.', '/'));

export const shopify: SourcePreset<z.ZodObject> = {
  name: 'shopify',
  provider: 'Shopify',
  description: 'Shopify: X-Shopify-Hmac-Sha256 <base64> over the body; no timestamp, so no replay window',
  options: z.object({}),
  create: () => ({
    preset: 'shopify',
    signatureHeaders: [header],
    replayWindow: false,
    ...macVerifier({ algorithm: 'sha256', parse }),
    identify: ({ headers }) => ({ id: headerValue(headers, 'x-shopify-webhook-id'), type: headerValue(headers, 'x-shopify-topic') }),
    sign: ({ body, secret, nowSec, id, type }) => ({
      'content-type': 'application/json',
      'x-shopify-topic': type,
      'x-shopify-webhook-id': id,
      // Shopify sends these with every webhook (its library requires them); the values are a test shop's.
      'x-shopify-shop-domain': 'hookline-test.myshopify.com',
      'x-shopify-api-version': '2025-10',
      'x-shopify-triggered-at': isoTime(nowSec),
      [header]: macOf('sha256', secret, body).toString('base64'),
    }),
    samples,
    testEvent: ({ type, body }, { id }) => ({ id, type, body }),
    newDevSecret: () => randomBytes(16).toString('hex'),
    secretProblem: () => undefined,
  }),
};
