import { decodeHex, digestBytes, malformed, missing, parseUnixSeconds, splitPairs, type SignedParts } from './signature.ts';
import { headerValue } from './headers.ts';
import type { RequestHeaders } from './types.ts';

/**
 * `t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 over "<t>.<raw body>": the header of muro and of
 * Stripe. Other schemes in the header (Stripe's v0=) are ignored.
 */
export function parseTimestampedHeader(headers: RequestHeaders, name: string): SignedParts {
  const value = headerValue(headers, name);
  if (value === undefined) throw missing(name);
  let timestamp: number | undefined;
  let entries = 0;
  const signatures: Buffer[] = [];
  for (const [key, entry] of splitPairs(value)) {
    if (key === 't') timestamp = parseUnixSeconds(entry);
    else if (key === 'v1') {
      entries += 1;
      const decoded = entry === undefined ? undefined : decodeHex(entry, digestBytes.sha256);
      if (decoded) signatures.push(decoded);
    }
  }
  if (timestamp === undefined) throw malformed(name, 'expected t=<unix seconds>');
  if (entries === 0) throw malformed(name, 'expected v1=<hex>');
  if (signatures.length === 0) throw malformed(name, 'no v1 entry is a SHA-256 hex digest');
  return { signatures, timestamp, before: `${timestamp}.` };
}
