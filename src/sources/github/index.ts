import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { headerValue } from '../headers.ts';
import { loadSamples } from '../samples.ts';
import { decodeHex, digestBytes, macOf, macVerifier, malformed, missing, type SignedParts } from '../signature.ts';
import type { RequestHeaders, SourcePreset } from '../types.ts';

/**
 * GitHub webhooks.
 * Signed: HMAC-SHA256 over the raw body only, hex, in `X-Hub-Signature-256: sha256=<hex>` (the
 * older SHA-1 `X-Hub-Signature` is not checked). GitHub signs no timestamp: there is no replay
 * window, and a captured delivery replayed later is stopped only by dedup on its delivery id
 * (within dedup_ttl).
 * Identity: `X-GitHub-Delivery` (id) and `X-GitHub-Event` (type, plus `.<action>` from the signed
 * body, e.g. `issues.opened`). Those two headers are not signed: the body MAC proves the delivery
 * came from GitHub, not that its id and event headers were left unchanged on the way.
 */

const header = 'x-hub-signature-256';
const prefix = 'sha256=';

function parse(headers: RequestHeaders): SignedParts {
  const value = headerValue(headers, header);
  if (value === undefined) throw missing(header);
  if (!value.toLowerCase().startsWith(prefix)) throw malformed(header, `expected ${prefix}<hex>`);
  const signature = decodeHex(value.slice(prefix.length), digestBytes.sha256);
  if (!signature) throw malformed(header, 'not a SHA-256 hex digest');
  return { signatures: [signature], before: '' };
}

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name) => name);

export const github: SourcePreset<z.ZodObject> = {
  name: 'github',
  provider: 'GitHub',
  description: 'GitHub: X-Hub-Signature-256 sha256=<hex> over the body; no timestamp, so no replay window',
  options: z.object({}),
  create: () => ({
    preset: 'github',
    signatureHeaders: [header, 'x-hub-signature'],
    replayWindow: false,
    ...macVerifier({ algorithm: 'sha256', parse }),
    identify: ({ body, headers }) => {
      const event = headerValue(headers, 'x-github-event') ?? 'unknown';
      const { action } = body;
      return { id: headerValue(headers, 'x-github-delivery'), type: typeof action === 'string' && action !== '' ? `${event}.${action}` : event };
    },
    sign: ({ body, secret, id, type }) => ({
      'content-type': 'application/json',
      // X-GitHub-Event names the event; the action is in the body.
      'x-github-event': type.split('.')[0]!,
      'x-github-delivery': id,
      [header]: `${prefix}${macOf('sha256', secret, body).toString('hex')}`,
    }),
    samples,
    testEvent: ({ type, body }, { id }) => ({ id, type, body }),
    newDevSecret: () => randomBytes(20).toString('hex'),
    secretProblem: () => undefined,
  }),
};

