import { createHmac, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../errors.ts';

/** What a signature header carries once parsed: its timestamp and one or more hex signatures. */
export interface SignatureHeader {
  timestamp: number;
  signatures: string[];
}

export interface VerifyInput {
  rawBody: Buffer;
  header: string | undefined;
  secrets: readonly string[];
  /** Current time, unix seconds (injected, so tests control the clock). */
  now: number;
  /** Accepted skew of the timestamp either way, seconds. */
  toleranceSec: number;
}

const hex64 = /^[0-9a-f]{64}$/i;

/**
 * HMAC-SHA256 over "<t>.<raw body>", keyed by each secret's UTF-8 bytes, compared in constant time
 * with every signature in the header (several during a rotation on the sender's side).
 * The timestamp is checked only after a signature matched, so a stale but valid request says "stale".
 */
export function verifySignature(input: VerifyInput, parse: (header: string) => SignatureHeader | undefined): number {
  if (input.header === undefined || input.header.trim() === '') {
    throw new VerificationError('HL_SIGNATURE_MISSING', 'signature header missing');
  }
  const parsed = parse(input.header);
  if (!parsed) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header malformed');
  const candidates = parsed.signatures.filter((s) => hex64.test(s)).map((s) => Buffer.from(s, 'hex'));
  if (candidates.length === 0) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header has no SHA-256 hex signature');

  let matched = false;
  for (const secret of input.secrets) {
    const expected = createHmac('sha256', secret).update(`${parsed.timestamp}.`).update(input.rawBody).digest();
    // Every comparison runs (no early exit) so timing does not reveal which secret or entry matched.
    for (const candidate of candidates) matched = timingSafeEqual(candidate, expected) || matched;
  }
  if (!matched) throw new VerificationError('HL_SIGNATURE_MISMATCH', 'signature does not match any configured secret');
  if (Math.abs(input.now - parsed.timestamp) > input.toleranceSec) {
    throw new VerificationError('HL_TIMESTAMP_STALE', 'signature timestamp outside the tolerance');
  }
  return parsed.timestamp;
}

/** Splits "a=1, b=2,c" into trimmed [key, value] pairs (value undefined for a bare token). */
export function splitPairs(header: string): Array<[string, string | undefined]> {
  return header.split(',').map((part) => {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    return eq < 0 ? [trimmed, undefined] : [trimmed.slice(0, eq), trimmed.slice(eq + 1)];
  });
}

export function parseTimestamp(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) : undefined;
}
