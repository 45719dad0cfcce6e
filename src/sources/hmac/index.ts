import { randomBytes } from 'node:crypto';
import jsonata from 'jsonata';
import { z } from 'zod';
import { jsonataText } from '../expression.ts';
import { headerValue, text } from '../headers.ts';
import { decodeBase64, decodeHex, digestBytes, macOf, macVerifier, malformed, missing, type SignedParts } from '../signature.ts';
import type { EventIdentity, RequestHeaders, SourcePreset } from '../types.ts';

/**
 * Any HMAC-signed webhook, by configuration (PRODUCT §9).
 * Signed: HMAC (sha1, sha256 or sha512) over the `signed` template, where `{body}` is the raw body,
 * `{timestamp}` the text of `timestamp_header` and `{id}` the text of `id_header`; the signature is
 * hex or base64 after an optional prefix, in `header` (several comma-separated are accepted).
 * A timestamp of 13 digits is read as milliseconds, up to 12 as seconds; with one there is a replay
 * window, without one only dedup stops a replayed delivery.
 * Identity: `id` and `type` are JSONata over `{ body, headers }`. Only the body and the headers the
 * template signs are authenticated: an id or type read from any other header is trusted only as
 * far as the body MAC proves the delivery came from the sender.
 */

const placeholders = ['body', 'timestamp', 'id'] as const;

const signature = z
  .object({
    header: z.string().min(1).meta({ description: 'the header that carries the signature, e.g. x-signature' }),
    prefix: z
      .string()
      .refine((p) => !p.includes(','), { message: 'a prefix cannot contain a comma (commas separate several signatures)' })
      .default('')
      .meta({ description: 'text before the signature in the header, e.g. "sha256="' }),
    encoding: z.enum(['hex', 'base64']).default('hex').meta({ description: 'how the MAC is written' }),
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256').meta({ description: 'the HMAC hash' }),
    signed: z
      .string()
      .default('{body}')
      .meta({ description: 'what is signed: {body} (the raw body, once), {timestamp}, {id}; e.g. "{timestamp}.{body}"' }),
    timestamp_header: z.string().min(1).optional().meta({ description: 'header with the signed unix time (seconds, or milliseconds if 13 digits)' }),
    id_header: z.string().min(1).optional().meta({ description: 'header with a signed delivery id, for {id}' }),
  })
  .strict()
  .superRefine((s, ctx) => {
    const used = [...s.signed.matchAll(/\{(\w*)\}/g)].map((m) => m[1]!);
    const unknown = used.filter((p) => !(placeholders as readonly string[]).includes(p));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', path: ['signed'], message: `unknown placeholder {${unknown[0]}}; use {body}, {timestamp} or {id}` });
    if (used.filter((p) => p === 'body').length !== 1) ctx.addIssue({ code: 'custom', path: ['signed'], message: 'signed must contain {body} exactly once' });
    const pairs = [
      ['timestamp', 'timestamp_header', s.timestamp_header],
      ['id', 'id_header', s.id_header],
    ] as const;
    for (const [placeholder, key, value] of pairs) {
      if (used.includes(placeholder) && value === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `{${placeholder}} is signed: set ${key} to the header that carries it` });
      // An unsigned timestamp or id protects nothing: anyone could rewrite it.
      if (!used.includes(placeholder) && value !== undefined) ctx.addIssue({ code: 'custom', path: ['signed'], message: `${key} is set but signed has no {${placeholder}}; add it where the sender puts it` });
    }
  })
  .meta({ description: 'how the sender signs' });

const options = z.object({
  signature,
  id: jsonataText('JSONata over { body, headers } giving the event id (dedup key); default body.id, or the id_header').optional(),
  type: jsonataText('JSONata over { body, headers } giving the event type').default('body.type'),
});

type Options = z.output<typeof options>;

/** The header an expression reads when it is exactly `headers."name"` (so `sign` can set it), else undefined. */
function headerRead(expression: string): string | undefined {
  const m = /^\s*headers\s*\.\s*(?:"([^"]+)"|`([^`]+)`|([A-Za-z_][\w]*))\s*$/.exec(expression);
  return m ? (m[1] ?? m[2] ?? m[3])!.toLowerCase() : undefined;
}

/** The top-level body field an expression reads when it is exactly `body.name` (so `testEvent` can set it). */
function bodyRead(expression: string): string | undefined {
  const m = /^\s*body\s*\.\s*(?:"([^"]+)"|`([^`]+)`|([A-Za-z_][\w]*))\s*$/.exec(expression);
  return m ? (m[1] ?? m[2] ?? m[3])! : undefined;
}

/** A 13-digit timestamp is milliseconds; up to 12 digits, seconds. */
function parseTimestamp(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,13}$/.test(value)) return undefined;
  return value.length === 13 ? Number(value) / 1000 : Number(value);
}

function compile(opts: Options) {
  const s = opts.signature;
  const header = s.header.toLowerCase();
  const bytes = digestBytes[s.algorithm];
  const [beforeBody, afterBody] = s.signed.split('{body}') as [string, string];
  const fill = (template: string, timestamp: string, id: string) => template.replaceAll('{timestamp}', timestamp).replaceAll('{id}', id);

  function parse(headers: RequestHeaders): SignedParts {
    const value = headerValue(headers, header);
    if (value === undefined) throw missing(header);
    let timestampText = '';
    let timestamp: number | undefined;
    if (s.timestamp_header) {
      timestampText = headerValue(headers, s.timestamp_header) ?? '';
      timestamp = parseTimestamp(timestampText);
      if (timestamp === undefined) throw malformed(s.timestamp_header, 'expected unix seconds or milliseconds');
    }
    let idText = '';
    if (s.id_header) {
      idText = headerValue(headers, s.id_header) ?? '';
      if (idText === '') throw malformed(s.id_header, 'the signed id is missing');
    }
    let entries = 0;
    const signatures: Buffer[] = [];
    for (const entry of value.split(',').map((e) => e.trim())) {
      if (!entry.toLowerCase().startsWith(s.prefix.toLowerCase())) continue;
      entries += 1;
      const encoded = entry.slice(s.prefix.length);
      const decoded = s.encoding === 'hex' ? decodeHex(encoded, bytes) : decodeBase64(encoded, bytes);
      if (decoded) signatures.push(decoded);
    }
    if (entries === 0) throw malformed(header, `expected ${s.prefix}<${s.encoding}>`);
    if (signatures.length === 0) throw malformed(header, `no entry is a ${s.encoding} ${s.algorithm} digest`);
    return { signatures, timestamp, before: fill(beforeBody, timestampText, idText), after: fill(afterBody, timestampText, idText) };
  }

  const idSource = opts.id ?? (s.id_header ? `headers."${s.id_header.toLowerCase()}"` : 'body.id');
  return { header, parse, fill, beforeBody, afterBody, idSource, idExpression: jsonata(idSource), typeExpression: jsonata(opts.type) };
}

/** JSONata's answer (the receiver checks it is short text); an expression that fails to evaluate reads as absent. */
async function evaluate(expression: jsonata.Expression, input: object): Promise<unknown> {
  try {
    return await expression.evaluate(input);
  } catch {
    return undefined;
  }
}

/** Headers as the expressions see them: lower-case names, one string each. */
function plainHeaders(headers: RequestHeaders): Record<string, string> {
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) plain[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return plain;
}

export const hmac: SourcePreset<typeof options> = {
  name: 'hmac',
  provider: 'the sender',
  description: 'any HMAC-signed webhook: header, prefix, encoding, algorithm, signed template, timestamp header; id and type as JSONata',
  options,
  create: (opts) => {
    const c = compile(opts);
    const s = opts.signature;
    const idHeader = headerRead(c.idSource);
    const typeHeader = headerRead(opts.type);
    const idField = bodyRead(c.idSource);
    const typeField = bodyRead(opts.type);
    return {
      preset: 'hmac',
      signatureHeaders: [c.header],
      replayWindow: s.timestamp_header !== undefined,
      ...macVerifier({ algorithm: s.algorithm, parse: c.parse }),
      identify: async ({ body, headers }): Promise<EventIdentity> => {
        const input = { body, headers: plainHeaders(headers) };
        const [id, type] = await Promise.all([evaluate(c.idExpression, input), evaluate(c.typeExpression, input)]);
        return { id, type };
      },
      sign: ({ body, secret, nowSec, id, type }) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        // Where id and type are read from plain headers, send them there.
        if (idHeader) headers[idHeader] = id;
        if (typeHeader) headers[typeHeader] = type;
        if (s.timestamp_header) headers[s.timestamp_header.toLowerCase()] = String(nowSec);
        if (s.id_header) headers[s.id_header.toLowerCase()] = id;
        const mac = macOf(s.algorithm, secret, c.fill(c.beforeBody, String(nowSec), id), body, c.fill(c.afterBody, String(nowSec), id));
        headers[c.header] = `${s.prefix}${mac.toString(s.encoding)}`;
        return headers;
      },
      samples: () => ({}),
      testEvent: ({ type, body }, { id }) => ({
        id,
        type,
        body: { ...body, ...(idField ? { [idField]: id } : {}), ...(typeField ? { [typeField]: type } : {}) },
      }),
      newDevSecret: () => randomBytes(32).toString('hex'),
      secretProblem: () => undefined,
    };
  },
};
