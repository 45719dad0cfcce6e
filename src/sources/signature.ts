import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { VerificationError } from '../errors.ts';
import type { BeginInput, BodySignature, RequestHeaders, SourceScheme, VerifyInput } from './types.ts';

/**
 * The HMAC verification every preset shares: a preset only says how to read its headers (`parse`)
 * and how a secret becomes a key; checking the window and comparing MACs happen here, once.
 */

export type Algorithm = 'sha1' | 'sha256' | 'sha512';

export const digestBytes: Record<Algorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

/** What a delivery's signature headers say, once parsed. */
export interface SignedParts {
  /** Decoded candidate MACs (several during a rotation on the sender's side), each of the digest's length. */
  signatures: Buffer[];
  /** The signed timestamp, unix seconds, where the scheme has one. */
  timestamp?: number;
  /** The signed bytes around the raw body, e.g. "<t>." before it. */
  before: string;
  after?: string;
}

export interface MacScheme {
  algorithm: Algorithm;
  /** Reads the signature headers; throws VerificationError (missing or malformed). */
  parse(headers: RequestHeaders): SignedParts;
  /** The HMAC key of a configured secret; by default its UTF-8 bytes. */
  key?(secret: string): Buffer | string;
}

export function missing(header: string): VerificationError {
  return new VerificationError('HL_SIGNATURE_MISSING', `${header} header missing`);
}

export function malformed(header: string, why: string): VerificationError {
  return new VerificationError('HL_SIGNATURE_MALFORMED', `${header} header malformed: ${why}`);
}

function stale(): VerificationError {
  return new VerificationError('HL_TIMESTAMP_STALE', 'signature timestamp outside the tolerance (a replayed delivery, or a clock out of step)');
}

export function outsideWindow(timestamp: number, nowSec: number, toleranceSec: number): boolean {
  return Math.abs(nowSec - timestamp) > toleranceSec;
}

/**
 * The streaming check of a scheme, from how it parses its headers: `begin` refuses what the head
 * alone shows (missing, malformed, stale) and returns the body's signature, which every chunk
 * updates as it arrives; `precheck` and `verify` are built on it.
 */
export function macVerifier(scheme: MacScheme): Pick<SourceScheme, 'begin' | 'precheck' | 'verify'> {
  const key = scheme.key ? derivedKeys(scheme.key) : (secret: string) => secret;
  const begin = ({ headers, secrets, nowSec, toleranceSec }: BeginInput): BodySignature => {
    const parts = scheme.parse(headers);
    const checkTime = (now: number) => {
      if (parts.timestamp !== undefined && outsideWindow(parts.timestamp, now, toleranceSec)) throw stale();
    };
    checkTime(nowSec);
    const macs = secrets.map((secret) => createHmac(scheme.algorithm, key(secret)).update(parts.before));
    return {
      update: (chunk) => {
        for (const mac of macs) mac.update(chunk);
      },
      verify: (now) => {
        const expected = macs.map((mac) => (parts.after ? mac.update(parts.after) : mac).digest());
        if (!anyEqual(parts.signatures, expected)) throw new VerificationError('HL_SIGNATURE_MISMATCH', 'signature does not match any configured secret');
        // Checked after the MAC, so a stale but authentic delivery says "stale", not "mismatch".
        checkTime(now);
      },
    };
  };
  return {
    begin,
    precheck(headers, nowSec, toleranceSec) {
      try {
        begin({ headers, secrets: [], nowSec, toleranceSec });
        return undefined;
      } catch (error) {
        if (error instanceof VerificationError) return error;
        throw error;
      }
    },
    verify({ rawBody, ...input }: VerifyInput) {
      const signature = begin(input);
      signature.update(rawBody);
      signature.verify(input.nowSec);
    },
  };
}

/**
 * A derived key (standard-webhooks' decoded whsec_) kept as a KeyObject per secret: Node's HMAC
 * takes a Buffer key about five times slower than a string or a KeyObject, and the receiver
 * verifies with the same few secrets every time. The memo is cleared if it grows past a
 * handful, so passing many secrets cannot grow it without bound.
 */
function derivedKeys(derive: (secret: string) => Buffer | string): (secret: string) => KeyObject {
  const keys = new Map<string, KeyObject>();
  return (secret) => {
    let key = keys.get(secret);
    if (!key) {
      if (keys.size >= 32) keys.clear();
      const derived = derive(secret);
      key = createSecretKey(typeof derived === 'string' ? Buffer.from(derived) : derived);
      keys.set(secret, key);
    }
    return key;
  };
}

/**
 * True when any candidate equals any expected MAC. Every pair is compared (no early exit), so the
 * time taken does not reveal which secret or which entry matched; lengths are public.
 */
export function anyEqual(candidates: readonly Buffer[], expected: readonly Buffer[]): boolean {
  let matched = false;
  for (const e of expected) {
    for (const c of candidates) matched = (c.length === e.length && timingSafeEqual(c, e)) || matched;
  }
  return matched;
}

/** The MAC a provider sends, for `sign`: over the parts in order (the body as exact bytes, or text). */
export function macOf(algorithm: Algorithm, key: Buffer | string, ...signed: Array<string | Buffer>): Buffer {
  const hmac = createHmac(algorithm, key);
  for (const part of signed) hmac.update(part);
  return hmac.digest();
}

const hexPattern = /^[0-9a-f]+$/i;
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict hex of exactly `bytes` bytes, else undefined. */
export function decodeHex(value: string, bytes: number): Buffer | undefined {
  return value.length === bytes * 2 && hexPattern.test(value) ? Buffer.from(value, 'hex') : undefined;
}

/** Strict base64 (standard alphabet, padding optional) of exactly `bytes` bytes, else undefined. */
export function decodeBase64(value: string, bytes: number): Buffer | undefined {
  if (!base64Pattern.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === bytes ? decoded : undefined;
}

/** Unix seconds as a header carries them: 1 to 12 digits (13 digits are milliseconds, for `hmac`). */
export function parseUnixSeconds(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,12}$/.test(value) ? Number(value) : undefined;
}

/** Splits "a=1, b=2,c" into trimmed [key, value] pairs (value undefined for a bare token). */
export function splitPairs(header: string): Array<[string, string | undefined]> {
  return header.split(',').map((part) => {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    return eq < 0 ? [trimmed, undefined] : [trimmed.slice(0, eq), trimmed.slice(eq + 1)];
  });
}
