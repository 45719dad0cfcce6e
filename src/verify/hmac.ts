import { createHmac, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../errors.ts';

/** What a signature header carries once parsed: its timestamp and one or more hex signatures. */
export interface SignatureHeader {
  timestamp: number;
  signatures: string[];
}

/** A signature header, the secrets it may be made with, and the time (PRODUCT §1 rules 0, 2, 3). */
export interface PrecheckInput {
  header: string | undefined;
  secrets: readonly string[];
  /** Current time, unix seconds (injected, so tests control the clock). */
  now: number;
  /** Accepted skew of the timestamp either way, seconds. */
  toleranceSec: number;
}

export interface VerifyInput extends PrecheckInput {
  rawBody: Buffer;
}

/**
 * The signature of a body being read: each chunk is fed to it as it arrives, so that a forged body
 * is refused without ever being copied into one buffer or hashed in one long pass.
 */
export interface BodySignature {
  update(chunk: Buffer): void;
  /**
   * Once the body is complete: the timestamp again (a slow body may have outlived the tolerance),
   * then the MACs. Returns the header's timestamp; throws VerificationError.
   */
  verify(now: number): number;
}

const hex64 = /^[0-9a-f]{64}$/i;

/**
 * Rule 0, before the body: the header is present, of the source's form, carries at least one
 * SHA-256 hex signature, and its timestamp is within the tolerance (else VerificationError). Then
 * the body's signature: HMAC-SHA256 over "<t>.<raw body>", keyed by each secret's UTF-8 bytes,
 * compared in constant time with every signature in the header (several during a rotation).
 */
export function precheckSignature(input: PrecheckInput, parse: (header: string) => SignatureHeader | undefined): BodySignature {
  if (input.header === undefined || input.header.trim() === '') {
    throw new VerificationError('HL_SIGNATURE_MISSING', 'signature header missing');
  }
  const parsed = parse(input.header);
  if (!parsed) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header malformed');
  const candidates = parsed.signatures.filter((s) => hex64.test(s)).map((s) => Buffer.from(s, 'hex'));
  if (candidates.length === 0) throw new VerificationError('HL_SIGNATURE_MALFORMED', 'signature header has no SHA-256 hex signature');
  const { timestamp } = parsed;
  const checkTime = (now: number) => {
    if (Math.abs(now - timestamp) > input.toleranceSec) throw new VerificationError('HL_TIMESTAMP_STALE', 'signature timestamp outside the tolerance');
  };
  checkTime(input.now);

  const macs = input.secrets.map((secret) => createHmac('sha256', secret).update(`${timestamp}.`));
  return {
    update: (chunk) => {
      for (const mac of macs) mac.update(chunk);
    },
    verify: (now) => {
      checkTime(now);
      let matched = false;
      for (const mac of macs) {
        const expected = mac.digest();
        // Every comparison runs (no early exit) so timing does not reveal which secret or entry matched.
        for (const candidate of candidates) matched = timingSafeEqual(candidate, expected) || matched;
      }
      if (!matched) throw new VerificationError('HL_SIGNATURE_MISMATCH', 'signature does not match any configured secret');
      return timestamp;
    },
  };
}

/** The whole check over a body already in memory. Returns the header's timestamp. */
export function verifySignature(input: VerifyInput, parse: (header: string) => SignatureHeader | undefined): number {
  const signature = precheckSignature(input, parse);
  signature.update(input.rawBody);
  return signature.verify(input.now);
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
