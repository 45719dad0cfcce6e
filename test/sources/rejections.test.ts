import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../src/errors.ts';
import { createSource, type SourceScheme } from '../../src/sources/index.ts';

// Every rejection of PRODUCT §1, for every preset: missing, malformed, mismatch, stale (where the
// provider signs a timestamp), several signatures in one header, rotation over a list of secrets.
// Good deliveries come from each scheme's `sign`, which libraries.test.ts and vectors.test.ts check
// against the providers' own libraries and independently computed vectors.

type Headers = Record<string, string>;
type Patch = Record<string, string | undefined>;

interface Row {
  name: string;
  scheme: SourceScheme;
  secret: string;
  otherSecret: string;
  /** Applied to what `sign` produces (e.g. the svix-* header names). */
  rename?: (headers: Headers) => Headers;
  /** Header values that are not a well-formed signature, each applied over a good delivery's headers. */
  malformed: (good: Headers) => Array<[string, Patch]>;
  /** Changes to signed headers (timestamp, id) without re-signing: must not verify. */
  tampered?: (good: Headers) => Array<[string, Patch]>;
  /** One header carrying the signatures of two deliveries of the same body (`a` first). */
  several?: (a: Headers, b: Headers) => Patch;
  timestamp?: { header: string; format: (value: string, t: number) => string };
}

const now = 1_790_000_000;
const tolerance = 300;
const body = '{"id":"evt_1","event_id":"evt_1","type":"invoice.paid","action":"opened","data":{"text":"héllo wörld"}}';
const hex64 = 'ab'.repeat(32);
const b64of16 = Buffer.alloc(16, 7).toString('base64');

const replaceT = (value: string, t: number) => value.replace(/t=\d+/, `t=${t}`);

const rows: Row[] = [
  {
    name: 'muro',
    scheme: createSource('muro', {}),
    secret: 'muro_secret_1',
    otherSecret: 'muro_secret_0',
    malformed: (g) => [
      ['garbage', { 'x-muro-signature': 'garbage' }],
      ['no timestamp', { 'x-muro-signature': `v1=${hex64}` }],
      ['no v1', { 'x-muro-signature': `t=${now}` }],
      ['timestamp not a number', { 'x-muro-signature': `t=abc,v1=${hex64}` }],
      ['v1 not hex', { 'x-muro-signature': `t=${now},v1=zz` }],
      ['v1 too short', { 'x-muro-signature': `t=${now},v1=abcd` }],
      ['only another scheme', { 'x-muro-signature': g['x-muro-signature']!.replace('v1=', 'v0=') }],
    ],
    tampered: (g) => [['timestamp moved', { 'x-muro-signature': replaceT(g['x-muro-signature']!, now + 1) }]],
    several: (a, b) => ({ 'x-muro-signature': `${a['x-muro-signature']},v1=${b['x-muro-signature']!.split('v1=')[1]}` }),
    timestamp: { header: 'x-muro-signature', format: replaceT },
  },
  {
    name: 'meru',
    scheme: createSource('meru', {}),
    secret: 'whsec_c2VjcmV0LWJ5dGVz',
    otherSecret: 'whsec_b2xkLXNlY3JldA',
    malformed: () => [
      ['garbage', { 'meru-signature': 'garbage' }],
      ['version not first', { 'meru-signature': `t=${now},s=${hex64}` }],
      ['no s', { 'meru-signature': `v1,t=${now}` }],
      ['no timestamp', { 'meru-signature': `v1,s=${hex64}` }],
      ['timestamp not a number', { 'meru-signature': `v1,t=abc,s=${hex64}` }],
      ['s not hex', { 'meru-signature': `v1,t=${now},s=zz` }],
      ['another version', { 'meru-signature': `v2,t=${now},s=${hex64}` }],
    ],
    tampered: (g) => [['timestamp moved', { 'meru-signature': replaceT(g['meru-signature']!, now - 1) }]],
    several: (a, b) => ({ 'meru-signature': `${a['meru-signature']},s=${b['meru-signature']!.split('s=')[1]}` }),
    timestamp: { header: 'meru-signature', format: replaceT },
  },
  ...(['webhook', 'svix'] as const).map(
    (family): Row => ({
      name: `standard-webhooks (${family}-* headers)`,
      scheme: createSource('app', { preset: 'standard-webhooks' }),
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      otherSecret: 'whsec_dGhlLW9sZC1zZWNyZXQtYnl0ZXMtMTIzNDU2',
      rename: (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.replace(/^webhook-/, `${family}-`), v])),
      malformed: (g) => [
        ['garbage', { [`${family}-signature`]: 'garbage' }],
        ['not base64', { [`${family}-signature`]: 'v1,not*base64!' }],
        ['too short', { [`${family}-signature`]: `v1,${b64of16}` }],
        ['only other versions', { [`${family}-signature`]: g[`${family}-signature`]!.replace('v1,', 'v1a,') }],
        ['id missing', { [`${family}-id`]: undefined }],
        ['timestamp missing', { [`${family}-timestamp`]: undefined }],
        ['timestamp not a number', { [`${family}-timestamp`]: 'yesterday' }],
      ],
      tampered: () => [
        ['id changed', { [`${family}-id`]: 'msg_other' }],
        ['timestamp moved', { [`${family}-timestamp`]: String(now + 1) }],
      ],
      several: (a, b) => ({ [`${family}-signature`]: `${a[`${family}-signature`]} v1a,${b64of16} ${b[`${family}-signature`]}` }),
      timestamp: { header: `${family}-timestamp`, format: (_v, t) => String(t) },
    }),
  ),
  {
    name: 'github',
    scheme: createSource('github', { preset: 'github' }),
    secret: 'It\'s a Secret to Everybody',
    otherSecret: 'old github secret',
    malformed: (g) => [
      ['no prefix', { 'x-hub-signature-256': g['x-hub-signature-256']!.slice('sha256='.length) }],
      ['sha1', { 'x-hub-signature-256': `sha1=${'ab'.repeat(20)}` }],
      ['not hex', { 'x-hub-signature-256': 'sha256=zz' }],
      ['too short', { 'x-hub-signature-256': `sha256=${hex64.slice(2)}` }],
    ],
  },
  {
    name: 'stripe',
    scheme: createSource('stripe', { preset: 'stripe' }),
    secret: 'whsec_test_secret_5f0c1d2e3a4b',
    otherSecret: 'whsec_test_secret_rolled_away',
    malformed: (g) => [
      ['garbage', { 'stripe-signature': 'garbage' }],
      ['no timestamp', { 'stripe-signature': `v1=${hex64}` }],
      ['no v1', { 'stripe-signature': `t=${now}` }],
      ['only v0', { 'stripe-signature': g['stripe-signature']!.replace('v1=', 'v0=') }],
      ['v1 not hex', { 'stripe-signature': `t=${now},v1=xyz` }],
    ],
    tampered: (g) => [['timestamp moved', { 'stripe-signature': replaceT(g['stripe-signature']!, now + 5) }]],
    several: (a, b) => ({ 'stripe-signature': `${a['stripe-signature']},v1=${b['stripe-signature']!.split('v1=')[1]},v0=${hex64}` }),
    timestamp: { header: 'stripe-signature', format: replaceT },
  },
  {
    name: 'shopify',
    scheme: createSource('shop', { preset: 'shopify' }),
    secret: 'shpss_0123456789abcdef0123456789abcdef',
    otherSecret: '0123456789abcdef0123456789abcdef',
    malformed: () => [
      ['not base64', { 'x-shopify-hmac-sha256': 'not base64!' }],
      ['too short', { 'x-shopify-hmac-sha256': b64of16 }],
      ['hex instead of base64', { 'x-shopify-hmac-sha256': hex64 }],
    ],
  },
  {
    name: 'hmac (PRODUCT §9 example: sha256= hex over "{timestamp}.{body}")',
    scheme: createSource('custom', {
      preset: 'hmac',
      signature: { header: 'x-signature', prefix: 'sha256=', encoding: 'hex', algorithm: 'sha256', signed: '{timestamp}.{body}', timestamp_header: 'x-timestamp' },
      id: 'body.event_id',
      type: 'headers."x-event"',
    }),
    secret: 'custom secret',
    otherSecret: 'previous custom secret',
    malformed: (g) => [
      ['no prefix', { 'x-signature': g['x-signature']!.slice('sha256='.length) }],
      ['not hex', { 'x-signature': 'sha256=nothex' }],
      ['timestamp header missing', { 'x-timestamp': undefined }],
      ['timestamp not a number', { 'x-timestamp': '2026-11-20T10:00:00Z' }],
    ],
    tampered: () => [['timestamp moved', { 'x-timestamp': String(now + 1) }]],
    several: (a, b) => ({ 'x-signature': `${a['x-signature']}, ${b['x-signature']}` }),
    timestamp: { header: 'x-timestamp', format: (_v, t) => String(t) },
  },
  {
    name: 'hmac (base64 sha512 over "{id}.{timestamp}.{body}", no prefix)',
    scheme: createSource('custom', {
      preset: 'hmac',
      signature: { header: 'X-Sig', encoding: 'base64', algorithm: 'sha512', signed: '{id}.{timestamp}.{body}', timestamp_header: 'x-ts', id_header: 'x-delivery' },
    }),
    secret: 'k1',
    otherSecret: 'k0',
    malformed: () => [
      ['not base64', { 'x-sig': '***' }],
      ['a sha256 length', { 'x-sig': Buffer.alloc(32).toString('base64') }],
      ['id header missing', { 'x-delivery': undefined }],
    ],
    tampered: () => [
      ['id changed', { 'x-delivery': 'other' }],
      ['timestamp moved', { 'x-ts': String(now - 1) }],
    ],
    several: (a, b) => ({ 'x-sig': `${a['x-sig']},${b['x-sig']}` }),
    timestamp: { header: 'x-ts', format: (_v, t) => String(t) },
  },
  {
    name: 'hmac (sha1 hex over the body, no timestamp)',
    scheme: createSource('legacy', { preset: 'hmac', signature: { header: 'x-hook-signature', prefix: 'sha1=', algorithm: 'sha1' } }),
    secret: 'legacy',
    otherSecret: 'legacy-old',
    malformed: () => [
      ['no prefix', { 'x-hook-signature': 'ab'.repeat(20) }],
      ['a sha256 length', { 'x-hook-signature': `sha1=${hex64}` }],
    ],
    several: (a, b) => ({ 'x-hook-signature': `${a['x-hook-signature']},${b['x-hook-signature']}` }),
  },
];

function signed(row: Row, secret: string, t = now, text = body): Headers {
  const headers = row.scheme.sign({ body: text, secret, nowSec: t, id: 'msg_2Lr8xQ', type: 'invoice.paid' });
  return row.rename ? row.rename(headers) : headers;
}

function apply(headers: Headers, patch: Patch): Headers {
  const out: Headers = { ...headers };
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** The code of verify's rejection, or 'accepted'. */
function verdict(row: Row, headers: Headers, secrets: readonly string[] = [row.secret], raw = body): string {
  try {
    row.scheme.verify({ rawBody: Buffer.from(raw), headers, secrets, nowSec: now, toleranceSec: tolerance });
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
}

function precheck(row: Row, headers: Headers): string {
  return row.scheme.precheck(headers, now, tolerance)?.code ?? 'passes';
}

describe.each(rows)('$name', (row) => {
  const good = signed(row, row.secret);
  const signatureHeader = row.scheme.signatureHeaders.find((h) => good[h] !== undefined)!;

  it('accepts a delivery signed with the secret, and names its signature header as never to be stored', () => {
    expect(signatureHeader).toBeDefined();
    expect(precheck(row, good)).toBe('passes');
    expect(verdict(row, good)).toBe('accepted');
    expect(row.scheme.secretProblem(row.secret)).toBeUndefined();
  });

  it('refuses a missing or blank signature header, before the body and after', () => {
    for (const headers of [apply(good, { [signatureHeader]: undefined }), apply(good, { [signatureHeader]: '   ' }), {}]) {
      expect(precheck(row, headers)).toBe('HL_SIGNATURE_MISSING');
      expect(verdict(row, headers)).toBe('HL_SIGNATURE_MISSING');
    }
  });

  it('refuses malformed signature headers, before the body and after', () => {
    for (const [label, patch] of row.malformed(good)) {
      const headers = apply(good, patch);
      expect(precheck(row, headers), label).toBe('HL_SIGNATURE_MALFORMED');
      expect(verdict(row, headers), label).toBe('HL_SIGNATURE_MALFORMED');
    }
  });

  it('refuses a wrong secret, no secret, a body changed by one byte and tampered signed headers (mismatch, known only after the body)', () => {
    expect(verdict(row, good, [row.otherSecret])).toBe('HL_SIGNATURE_MISMATCH');
    expect(verdict(row, good, [])).toBe('HL_SIGNATURE_MISMATCH');
    expect(verdict(row, good, [row.secret], body.replace('héllo', 'hello'))).toBe('HL_SIGNATURE_MISMATCH');
    expect(verdict(row, good, [row.secret], `${body} `)).toBe('HL_SIGNATURE_MISMATCH');
    expect(precheck(row, signed(row, row.otherSecret))).toBe('passes');
    for (const [label, patch] of row.tampered?.(good) ?? []) {
      expect(verdict(row, apply(good, patch)), label).toBe('HL_SIGNATURE_MISMATCH');
    }
  });

  it('accepts any secret of a rotation list, and refuses when none is the signer\'s', () => {
    expect(verdict(row, good, [row.otherSecret, row.secret])).toBe('accepted');
    expect(verdict(row, good, [row.secret, row.otherSecret])).toBe('accepted');
    expect(verdict(row, signed(row, row.otherSecret), [row.secret, row.otherSecret])).toBe('accepted');
    expect(verdict(row, good, [row.otherSecret, 'a third secret'])).toBe('HL_SIGNATURE_MISMATCH');
  });

  if (row.several) {
    const several = row.several;
    it('accepts a header with several signatures when any one matches', () => {
      const other = signed(row, row.otherSecret);
      expect(verdict(row, apply(good, several(other, good)))).toBe('accepted');
      expect(verdict(row, apply(good, several(good, other)))).toBe('accepted');
      expect(verdict(row, apply(good, several(other, signed(row, 'a third secret'))))).toBe('HL_SIGNATURE_MISMATCH');
    });
  }

  if (row.timestamp) {
    it('refuses a signed timestamp outside the tolerance either way, before the body and after; accepts its edges', () => {
      expect(row.scheme.replayWindow).toBe(true);
      for (const t of [now - tolerance - 1, now + tolerance + 1, now - 86_400]) {
        const headers = signed(row, row.secret, t);
        expect(precheck(row, headers), String(t)).toBe('HL_TIMESTAMP_STALE');
        expect(verdict(row, headers), String(t)).toBe('HL_TIMESTAMP_STALE');
        // A forged signature with a stale timestamp is refused before its body is read.
        expect(precheck(row, signed(row, 'not the secret', t))).toBe('HL_TIMESTAMP_STALE');
      }
      for (const t of [now - tolerance, now + tolerance]) expect(verdict(row, signed(row, row.secret, t))).toBe('accepted');
    });
  } else {
    it('has no replay window (the provider signs no timestamp): an old delivery verifies, dedup is the guard', () => {
      expect(row.scheme.replayWindow).toBe(false);
      expect(precheck(row, signed(row, row.secret, now - 86_400))).toBe('passes');
      expect(verdict(row, signed(row, row.secret, now - 86_400))).toBe('accepted');
    });
  }
});

describe('rows cover every preset', () => {
  it('has a row for each preset', async () => {
    const { presetNames } = await import('../../src/sources/index.ts');
    const covered = new Set(rows.map((r) => r.scheme.preset));
    expect([...covered].sort()).toEqual([...presetNames].sort());
  });
});
