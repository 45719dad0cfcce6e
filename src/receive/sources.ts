import type { SourceName } from '../config/schema.ts';
import type { VerifyInput } from '../verify/hmac.ts';
import { verifyMeru } from '../verify/meru.ts';
import { verifyMuro } from '../verify/muro.ts';

type Headers = Record<string, string | string[] | undefined>;

/** What the receiver needs to know of each provider's contract (PRODUCT §1). */
export interface SourceScheme {
  signatureHeader: string;
  verify(input: VerifyInput): number;
  /** The dedup key and type, from headers first where the provider sends them. */
  identify(body: Record<string, unknown>, headers: Headers): { eventId: string | undefined; type: string };
}

export const sourceSchemes: Record<SourceName, SourceScheme> = {
  muro: {
    signatureHeader: 'x-muro-signature',
    verify: verifyMuro,
    identify: (body, headers) => ({
      eventId: text(headers['x-muro-event-id']) ?? text(body.id),
      type: text(headers['x-muro-event']) ?? text(body.type) ?? 'unknown',
    }),
  },
  meru: {
    signatureHeader: 'meru-signature',
    verify: verifyMeru,
    identify: (body) => ({ eventId: text(body.event_id), type: 'email.received' }),
  },
};

function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Headers never stored or shown: signatures and anything that carries a credential. */
const unsafeHeaders = new Set(['x-muro-signature', 'meru-signature', 'authorization', 'proxy-authorization', 'cookie']);

export function safeHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || unsafeHeaders.has(name)) continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}
