import type { SourceName } from '../config/schema.ts';
import type { BodySignature, PrecheckInput } from '../verify/hmac.ts';
import { precheckMeru } from '../verify/meru.ts';
import { precheckMuro } from '../verify/muro.ts';

type Headers = Record<string, string | string[] | undefined>;

/** What the receiver needs to know of each provider's contract (PRODUCT §1). */
export interface SourceScheme {
  signatureHeader: string;
  /**
   * Rule 0, from the signature header alone, before the body is read (throws VerificationError);
   * then the body's signature, fed as the body arrives.
   */
  precheck(input: PrecheckInput): BodySignature;
  /** Where the dedup key and the type are in the signed body (never in unsigned headers); checked by the receiver. */
  identify(body: Record<string, unknown>): { eventId: unknown; type: unknown };
  /** The source's own rules for a body (rule 4): why it cannot be read, or undefined. */
  problem?(body: Record<string, unknown>): string | undefined;
}

export const sourceSchemes: Record<SourceName, SourceScheme> = {
  muro: {
    signatureHeader: 'x-muro-signature',
    precheck: precheckMuro,
    // muro also sends x-muro-event-id and x-muro-event, but they are not signed: a replay could change them.
    identify: (body) => ({ eventId: body.id, type: body.type }),
  },
  meru: {
    signatureHeader: 'meru-signature',
    precheck: precheckMeru,
    identify: (body) => ({ eventId: body.event_id, type: 'email.received' }),
    problem: (body) => {
      const { attachments } = body;
      if (attachments === undefined || attachments === null) return undefined;
      if (!Array.isArray(attachments)) return 'attachments must be a list of objects';
      const bad = attachments.findIndex((a) => typeof a !== 'object' || a === null || Array.isArray(a));
      return bad < 0 ? undefined : `attachments[${bad}] is not an object`;
    },
  },
};

/** The signature header of a request, as one string. */
export function signatureHeaderOf(scheme: SourceScheme, headers: Headers): string | undefined {
  const header = headers[scheme.signatureHeader];
  return Array.isArray(header) ? header.join(',') : header;
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
