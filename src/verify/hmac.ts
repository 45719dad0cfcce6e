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

/** What can be judged of a signature header alone, before the body is read (PRODUCT §1 rule 0). */
export interface PrecheckInput {
  header: string | undefined;
  /** Current time, unix seconds. */
  now: number;
  toleranceSec: number;
}

const hex64 = /^[0-9a-f]{64}$/i;

/**
 * Rule 0: the header is present, of the source's form, carries at least one SHA-256 hex signature,
 * and its timestamp is within the tolerance. Only then is the body worth reading. Returns the
 * parsed header and its candidate signatures; throws VerificationError otherwise.
 */
export function precheckSignature(input: PrecheckInput, parse: (header: string) => SignatureHeader | undefined): SignatureHeader & { candidates: Buffer[] } {
  if (input.header === undefined || input.header.trim() === '') {
    throw new VerificationError('HL_SIGNATURE_MISSING', 'signature header missing');
  }
  const parsed = parse(input.header);
  if (!parsed) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header malformed');
  const candidates = parsed.signatures.filter((s) => hex64.test(s)).map((s) => Buffer.from(s, 'hex'));
  if (candidates.length === 0) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header has no SHA-256 hex signature');
  if (Math.abs(input.now - parsed.timestamp) > input.toleranceSec) {
    throw new VerificationError('HL_TIMESTAMP_STALE', 'signature timestamp outside the tolerance');
  }
  return { ...parsed, candidates };
}

/**
 * The header's precheck, then HMAC-SHA256 over "<t>.<raw body>", keyed by each secret's UTF-8
 * bytes, compared in constant time with every signature in the header (several during a rotation
 * on the sender's side). Returns the header's timestamp.
 */
export function verifySignature(input: VerifyInput, parse: (header: string) => SignatureHeader | undefined): number {
  const { timestamp, candidates } = precheckSignature(input, parse);
  let matched = false;
  for (const secret of input.secrets) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(input.rawBody).digest();
    // Every comparison runs (no early exit) so timing does not reveal which secret or entry matched.
    for (const candidate of candidates) matched = timingSafeEqual(candidate, expected) || matched;
  }
  if (!matched) throw new VerificationError('HL_SIGNATURE_MISMATCH', 'signature does not match any configured secret');
  return timestamp;
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
