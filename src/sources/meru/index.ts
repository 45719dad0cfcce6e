import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { size } from '../../config/units.ts';
import { storeAttachments } from '../../domain/attachments.ts';
import { headerValue } from '../headers.ts';
import { isoTime, loadSamples } from '../samples.ts';
import { decodeHex, digestBytes, macOf, macVerifier, malformed, missing, parseUnixSeconds, splitPairs, type SignedParts } from '../signature.ts';
import type { RequestHeaders, SourcePreset } from '../types.ts';

/**
 * MERU, inbound email as JSON (PRODUCT §1).
 * Signed: HMAC-SHA256 over "<t>.<raw body>", hex, in `Meru-Signature: v1,t=<unix>,s=<hex>[,s=...]`.
 * The key is the whole `whsec_...` string as UTF-8 (it is not base64-decoded as in Standard Webhooks).
 * Trusted: body `event_id` (dedup key); the type is always `email.received`. MERU sends no other
 * identity header. On receipt, attachments (base64 in the JSON) are saved to disk and the stored
 * event keeps only their metadata.
 */

const header = 'meru-signature';
const type = 'email.received';

const options = z.object({
  attachment_limit: size.default(10 * 1024 * 1024).meta({ description: 'largest single attachment saved to disk' }),
  email_attachments_limit: size.default(25 * 1024 * 1024).meta({ description: 'most attachment bytes saved per email' }),
});

/** `v1,t=<unix>,s=<hex>[,s=<hex>...]`: the version token first, then t and s. */
function parse(headers: RequestHeaders): SignedParts {
  const value = headerValue(headers, header);
  if (value === undefined) throw missing(header);
  const pairs = splitPairs(value);
  if (pairs[0]?.[0] !== 'v1' || pairs[0][1] !== undefined) throw malformed(header, 'expected v1 first');
  let timestamp: number | undefined;
  let entries = 0;
  const signatures: Buffer[] = [];
  for (const [key, entry] of pairs.slice(1)) {
    if (key === 't') timestamp = parseUnixSeconds(entry);
    else if (key === 's') {
      entries += 1;
      const decoded = entry === undefined ? undefined : decodeHex(entry, digestBytes.sha256);
      if (decoded) signatures.push(decoded);
    }
  }
  if (timestamp === undefined) throw malformed(header, 'expected t=<unix seconds>');
  if (entries === 0) throw malformed(header, 'expected s=<hex>');
  if (signatures.length === 0) throw malformed(header, 'no s entry is a SHA-256 hex digest');
  return { signatures, timestamp, before: `${timestamp}.` };
}

/** Attachments, when present, must be a list of objects: anything else cannot be saved (rule 4, 400). */
function attachmentsProblem(body: Record<string, unknown>): string | undefined {
  const { attachments } = body;
  if (attachments === undefined || attachments === null) return undefined;
  if (!Array.isArray(attachments)) return 'attachments must be a list of objects';
  const bad = attachments.findIndex((a) => typeof a !== 'object' || a === null || Array.isArray(a));
  return bad < 0 ? undefined : `attachments[${bad}] is not an object`;
}

const samples = loadSamples(fileURLToPath(new URL('./samples/', import.meta.url)), () => type, ['email.new-request']);

export const meru: SourcePreset<typeof options> = {
  name: 'meru',
  provider: 'MERU',
  webhookSettings: "MERU's webhook URL of the address",
  onRejected: 'MERU does not retry a 4xx: that mail is lost',
  description: 'MERU inbound email: Meru-Signature v1,t=<unix>,s=<hex> over "<t>.<body>"',
  options,
  create: (opts) => ({
    preset: 'meru',
    signatureHeaders: [header],
    replayWindow: true,
    ...macVerifier({ algorithm: 'sha256', parse }),
    identify: ({ body }) => ({ id: body.event_id, type }),
    problem: attachmentsProblem,
    sign: ({ body, secret, nowSec }) => ({
      'content-type': 'application/json',
      [header]: `v1,t=${nowSec},s=${macOf('sha256', secret, `${nowSec}.`, body).toString('hex')}`,
    }),
    eventTypes: [type],
    samples,
    testEvent: ({ body }, { id, nowSec }) => ({ id, type, body: { ...body, event_id: id, timestamp: isoTime(nowSec) } }),
    newDevSecret: () => `whsec_${randomBytes(24).toString('hex')}`,
    secretProblem: () => undefined,
    prepare: async ({ event, raw, attachmentsDir }) =>
      Array.isArray(event.attachments) && event.attachments.length > 0
        ? JSON.stringify(
            await storeAttachments(event, { dir: attachmentsDir, perAttachment: opts.attachment_limit, perEmail: opts.email_attachments_limit }),
          )
        : raw,
  }),
};
