import { parseTimestamp, precheckSignature, splitPairs, verifySignature, type BodySignature, type PrecheckInput, type SignatureHeader, type VerifyInput } from './hmac.ts';

/** MERU: `Meru-Signature: v1,t=<unix>,s=<hex>[,s=<hex>...]` — the version token first, then t and s. */
export function parseMeruSignature(header: string): SignatureHeader | undefined {
  const pairs = splitPairs(header);
  if (pairs[0]?.[0] !== 'v1' || pairs[0][1] !== undefined) return undefined;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const [key, value] of pairs.slice(1)) {
    if (key === 't') timestamp = parseTimestamp(value);
    else if (key === 's' && value) signatures.push(value);
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

export function verifyMeru(input: VerifyInput): number {
  return verifySignature(input, parseMeruSignature);
}

export function precheckMeru(input: PrecheckInput): BodySignature {
  return precheckSignature(input, parseMeruSignature);
}
