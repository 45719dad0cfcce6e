import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { headerValue, text } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import { decodeBase64, digestBytes, macOf, macVerifier, malformed, missing, parseUnixSeconds, type SignedParts } from '../signature.ts';
import type { RequestHeaders, SourcePreset } from '../types.ts';

/**
 * Standard Webhooks (standardwebhooks.com), as sent by Svix and the many services built on it.
 * Signed: HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<raw body>", base64, in
 * `webhook-signature: v1,<base64>[ v1,<base64>...]` (space-separated; other versions such as the
 * asymmetric v1a are ignored). The key is the secret `whsec_<base64>` base64-decoded.
 * Svix's own `svix-id`, `svix-timestamp` and `svix-signature` are read when the `webhook-*` ones
 * are absent (Clerk, Resend and other Svix senders use them), as Svix's verifier does.
 * Trusted: `webhook-id` (signed, the dedup key) and body `type`.
 */

const families = [
  { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
  { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
] as const;

function familyOf(headers: RequestHeaders) {
  return families.find((f) => headerValue(headers, f.signature) !== undefined) ?? families[0];
}

function parse(headers: RequestHeaders): SignedParts {
  const names = familyOf(headers);
  const value = headerValue(headers, names.signature);
  if (value === undefined) throw missing(names.signature);
  const id = headerValue(headers, names.id);
  if (id === undefined) throw malformed(names.id, 'the message id is missing');
  const timestamp = parseUnixSeconds(headerValue(headers, names.timestamp));
  if (timestamp === undefined) throw malformed(names.timestamp, 'expected unix seconds');
  let entries = 0;
  const signatures: Buffer[] = [];
  for (const token of value.split(/\s+/)) {
    // A repeated header arrives joined with ", ": a trailing comma belongs to no signature.
    const [version, signature] = token.replace(/,$/, '').split(',', 2);
    if (version !== 'v1') continue;
    entries += 1;
    const decoded = signature === undefined ? undefined : decodeBase64(signature, digestBytes.sha256);
    if (decoded) signatures.push(decoded);
  }
  if (entries === 0) throw malformed(names.signature, 'expected v1,<base64>');
  if (signatures.length === 0) throw malformed(names.signature, 'no v1 entry is a base64 SHA-256 digest');
  return { signatures, timestamp, before: `${id}.${timestamp}.` };
}

const prefix = 'whsec_';

/** The key: the base64 after `whsec_` (a bare base64 secret is accepted too, as the reference library does). */
function key(secret: string): Buffer {
  return Buffer.from(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret, 'base64');
}

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), (name, body) => text(body.type) ?? name);

export const standardWebhooks: SourcePreset<z.ZodObject> = {
  name: 'standard-webhooks',
  provider: 'the Standard Webhooks sender',
  description: 'Standard Webhooks (Svix and others): webhook-signature v1,<base64> over "<id>.<timestamp>.<body>", secret whsec_<base64>',
  options: z.object({}),
  create: () => ({
    preset: 'standard-webhooks',
    signatureHeaders: families.map((f) => f.signature),
    replayWindow: true,
    ...macVerifier({ algorithm: 'sha256', parse, key }),
    identify: ({ body, headers }) => ({ id: headerValue(headers, familyOf(headers).id), type: body.type }),
    sign: ({ body, secret, nowSec, id }) => ({
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(nowSec),
      'webhook-signature': `v1,${macOf('sha256', key(secret), `${id}.${nowSec}.`, body).toString('base64')}`,
    }),
    samples,
    testEvent: ({ type, body }, { id, nowSec }) => ({ id, type, body: { ...body, type, timestamp: isoTime(nowSec) } }),
    newDevSecret: () => `${prefix}${randomBytes(24).toString('base64')}`,
    secretProblem: (secret) => {
      const encoded = secret.startsWith(prefix) ? secret.slice(prefix.length) : secret;
      return /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && key(secret).length > 0
        ? undefined
        : 'a Standard Webhooks secret is whsec_ followed by base64 (copy it whole from the sender\'s dashboard)';
    },
  }),
};
