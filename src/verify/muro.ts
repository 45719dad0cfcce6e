import { parseTimestamp, precheckSignature, splitPairs, verifySignature, type BodySignature, type PrecheckInput, type SignatureHeader, type VerifyInput } from './hmac.ts';

/** muro: `x-muro-signature: t=<unix>,v1=<hex>[,v1=<hex>...]`; unknown schemes (v0=...) are ignored. */
export function parseMuroSignature(header: string): SignatureHeader | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const [key, value] of splitPairs(header)) {
    if (key === 't') timestamp = parseTimestamp(value);
    else if (key === 'v1' && value) signatures.push(value);
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

export function verifyMuro(input: VerifyInput): number {
  return verifySignature(input, parseMuroSignature);
}

export function precheckMuro(input: PrecheckInput): BodySignature {
  return precheckSignature(input, parseMuroSignature);
}
