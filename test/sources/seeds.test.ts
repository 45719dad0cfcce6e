import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../src/errors.ts';
import { createSource } from '../../src/sources/index.ts';
import type { BodySignature } from '../../src/sources/types.ts';
import { hmacHex } from '../helpers/sign.ts';

// The muro and MERU schemes against their seed documents (../shared/seeds), with vectors computed
// here the way the seeds describe.

const body = Buffer.from('{"id":"evt_1","type":"message.created","data":{"text":"héllo"}}');
const now = 1_790_000_000;
const base = { rawBody: body, now, toleranceSec: 300 };

interface Input {
  header: string | undefined;
  secrets: string[];
  now: number;
  toleranceSec: number;
}

/** A scheme's streaming check, given the signature header's value alone. */
function checker(source: 'muro' | 'meru', header: string) {
  const scheme = createSource(source, {});
  const begin = (input: Input): BodySignature =>
    scheme.begin({ headers: input.header === undefined ? {} : { [header]: input.header }, secrets: input.secrets, nowSec: input.now, toleranceSec: input.toleranceSec });
  const verify = (input: Input & { rawBody: Buffer }): true => {
    const signature = begin(input);
    signature.update(input.rawBody);
    signature.verify(input.now);
    return true;
  };
  return { begin, verify };
}
const { begin: precheckMuro, verify: verifyMuro } = checker('muro', 'x-muro-signature');
const { begin: precheckMeru, verify: verifyMeru } = checker('meru', 'meru-signature');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
}

describe('muro signature (x-muro-signature: t=..,v1=..)', () => {
  const secret = 'muro_secret_1';
  const good = `t=${now},v1=${hmacHex(secret, now, body)}`;

  it('accepts the seed algorithm: HMAC-SHA256(secret, "<t>.<raw body>") as hex', () => {
    // Known-answer vector, computed with the seed's own recipe.
    const expected = createHmac('sha256', secret).update(`${now}.${body.toString('utf8')}`).digest('hex');
    expect(verifyMuro({ ...base, header: `t=${now},v1=${expected}`, secrets: [secret] })).toBe(true);
    expect(verifyMuro({ ...base, header: `t=${now},v1=${expected.toUpperCase()}`, secrets: [secret] })).toBe(true);
  });

  it('accepts any of several secrets (rotation) and any of several v1 entries', () => {
    expect(verifyMuro({ ...base, header: good, secrets: ['old_secret', secret] })).toBe(true);
    expect(verifyMuro({ ...base, header: good, secrets: [secret, 'new_secret'] })).toBe(true);
    const other = hmacHex('other', now, body);
    expect(verifyMuro({ ...base, header: `t=${now},v1=${other},v1=${hmacHex(secret, now, body)}`, secrets: [secret] })).toBe(true);
    expect(verifyMuro({ ...base, header: `t=${now}, v0=abc, v1=${hmacHex(secret, now, body)}`, secrets: [secret] })).toBe(true);
  });

  it('refuses a wrong secret, a changed body, and a signature over another timestamp', () => {
    expect(code(() => verifyMuro({ ...base, header: good, secrets: ['wrong'] }))).toBe('HL_SIGNATURE_MISMATCH');
    expect(code(() => verifyMuro({ ...base, rawBody: Buffer.from(`${body} `), header: good, secrets: [secret] }))).toBe('HL_SIGNATURE_MISMATCH');
    const shifted = `t=${now + 1},v1=${hmacHex(secret, now, body)}`;
    expect(code(() => verifyMuro({ ...base, header: shifted, secrets: [secret] }))).toBe('HL_SIGNATURE_MISMATCH');
    expect(code(() => verifyMuro({ ...base, header: good, secrets: [] }))).toBe('HL_SIGNATURE_MISMATCH');
  });

  it('refuses missing and malformed headers', () => {
    expect(code(() => verifyMuro({ ...base, header: undefined, secrets: [secret] }))).toBe('HL_SIGNATURE_MISSING');
    expect(code(() => verifyMuro({ ...base, header: '  ', secrets: [secret] }))).toBe('HL_SIGNATURE_MISSING');
    for (const header of ['garbage', `v1=${hmacHex(secret, now, body)}`, `t=${now}`, `t=abc,v1=${hmacHex(secret, now, body)}`, `t=${now},v1=zz`, `t=${now},v1=abcd`]) {
      expect(code(() => verifyMuro({ ...base, header, secrets: [secret] })), header).toBe('HL_SIGNATURE_MALFORMED');
    }
  });

  it('refuses a valid signature whose timestamp is outside the tolerance, either way', () => {
    for (const t of [now - 301, now + 301]) {
      const header = `t=${t},v1=${hmacHex(secret, t, body)}`;
      expect(code(() => verifyMuro({ ...base, header, secrets: [secret] }))).toBe('HL_TIMESTAMP_STALE');
    }
    for (const t of [now - 300, now + 299]) {
      expect(verifyMuro({ ...base, header: `t=${t},v1=${hmacHex(secret, t, body)}`, secrets: [secret] })).toBe(true);
    }
  });
});

describe('MERU signature (Meru-Signature: v1,t=..,s=..)', () => {
  const secret = 'whsec_c2VjcmV0LWJ5dGVz';
  const good = `v1,t=${now},s=${hmacHex(secret, now, body)}`;

  it('accepts the seed algorithm, keyed by the whole whsec_ string', () => {
    expect(verifyMeru({ ...base, header: good, secrets: [secret] })).toBe(true);
  });

  it('does not base64-decode the secret as Standard Webhooks would', () => {
    const decodedKey = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const standard = createHmac('sha256', decodedKey).update(`${now}.`).update(body).digest('hex');
    expect(code(() => verifyMeru({ ...base, header: `v1,t=${now},s=${standard}`, secrets: [secret] }))).toBe('HL_SIGNATURE_MISMATCH');
  });

  it('accepts rotation and several s= entries', () => {
    expect(verifyMeru({ ...base, header: good, secrets: ['whsec_old', secret] })).toBe(true);
    const both = `v1,t=${now},s=${hmacHex('whsec_x', now, body)},s=${hmacHex(secret, now, body)}`;
    expect(verifyMeru({ ...base, header: both, secrets: [secret] })).toBe(true);
  });

  it('refuses muro-style, version-less and wrong headers, and stale timestamps', () => {
    expect(code(() => verifyMeru({ ...base, header: `t=${now},v1=${hmacHex(secret, now, body)}`, secrets: [secret] }))).toBe('HL_SIGNATURE_MALFORMED');
    expect(code(() => verifyMeru({ ...base, header: `t=${now},s=${hmacHex(secret, now, body)}`, secrets: [secret] }))).toBe('HL_SIGNATURE_MALFORMED');
    expect(code(() => verifyMeru({ ...base, header: `v2,t=${now},s=${hmacHex(secret, now, body)}`, secrets: [secret] }))).toBe('HL_SIGNATURE_MALFORMED');
    expect(code(() => verifyMeru({ ...base, header: good, secrets: ['whsec_wrong'] }))).toBe('HL_SIGNATURE_MISMATCH');
    const old = now - 3600;
    expect(code(() => verifyMeru({ ...base, header: `v1,t=${old},s=${hmacHex(secret, old, body)}`, secrets: [secret] }))).toBe('HL_TIMESTAMP_STALE');
  });
});

describe('before the body, then as it arrives (rule 0)', () => {
  const secret = 'muro_secret_1';
  const input = (header: string | undefined) => ({ header, secrets: [secret], now, toleranceSec: 300 });

  it('judges the header alone: missing, malformed, or stale whatever the signature', () => {
    expect(code(() => precheckMuro(input(undefined)))).toBe('HL_SIGNATURE_MISSING');
    expect(code(() => precheckMuro(input('sha256=abc')))).toBe('HL_SIGNATURE_MALFORMED');
    expect(code(() => precheckMuro(input(`t=${now - 301},v1=${'ab'.repeat(32)}`)))).toBe('HL_TIMESTAMP_STALE');
    expect(code(() => precheckMeru({ ...input(`v1,t=${now + 301},s=${'ab'.repeat(32)}`) }))).toBe('HL_TIMESTAMP_STALE');
    // A well-formed, fresh header lets the body be read, even when its MAC is made up.
    expect(code(() => precheckMuro(input(`t=${now},v1=${'ab'.repeat(32)}`)))).toBeUndefined();
  });

  it('verifies a body fed in chunks as it arrives exactly as the whole body', () => {
    const signature = precheckMuro(input(`t=${now},v1=${hmacHex(secret, now, body)}`));
    for (let i = 0; i < body.length; i += 7) signature.update(body.subarray(i, i + 7));
    expect(() => signature.verify(now)).not.toThrow();
    const changed = precheckMuro(input(`t=${now},v1=${hmacHex(secret, now, body)}`));
    changed.update(body.subarray(0, 10));
    expect(code(() => changed.verify(now))).toBe('HL_SIGNATURE_MISMATCH');
  });

  it('checks the timestamp again once the body is complete: a slow body may outlive the tolerance', () => {
    const signature = precheckMuro(input(`t=${now},v1=${hmacHex(secret, now, body)}`));
    signature.update(body);
    expect(code(() => signature.verify(now + 301))).toBe('HL_TIMESTAMP_STALE');
  });
});
