import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../src/errors.ts';
import { createSource, type RequestHeaders, type SourceScheme } from '../../src/sources/index.ts';

// Known-answer vectors computed here with node:crypto, the way each provider's documentation
// describes the scheme, independently of src/ (for muro and MERU the seeds are the only reference).

const now = 1_790_000_000;
const body = '{"id":"evt_1","event_id":"evt_1","type":"message.created","data":{"text":"héllo"}}';

function verdict(scheme: SourceScheme, headers: RequestHeaders, secrets: string[], raw = body, at = now): string {
  try {
    scheme.verify({ rawBody: Buffer.from(raw), headers, secrets, nowSec: at, toleranceSec: 300 });
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
}

const hmac = (algorithm: string, key: string | Buffer, text: string, encoding: 'hex' | 'base64') =>
  createHmac(algorithm, key).update(text, 'utf8').digest(encoding);

describe('muro: HMAC-SHA256(secret, "<t>.<raw body>") hex, per the muro seed', () => {
  const scheme = createSource('muro', {});
  const secret = 'muro_secret_1';
  const expected = hmac('sha256', secret, `${now}.${body}`, 'hex');

  it('accepts the seed recipe in lower and upper case hex, and signs exactly so', () => {
    expect(verdict(scheme, { 'x-muro-signature': `t=${now},v1=${expected}` }, [secret])).toBe('accepted');
    expect(verdict(scheme, { 'x-muro-signature': `t=${now},v1=${expected.toUpperCase()}` }, [secret])).toBe('accepted');
    expect(verdict(scheme, { 'x-muro-signature': `t=${now}, v0=abc, v1=${expected}` }, [secret])).toBe('accepted');
    const signed = scheme.sign({ body, secret, nowSec: now, id: 'evt_1', type: 'message.created' });
    expect(signed['x-muro-signature']).toBe(`t=${now},v1=${expected}`);
    expect(signed).toMatchObject({ 'x-muro-event-id': 'evt_1', 'x-muro-event': 'message.created', 'x-muro-timestamp': String(now) });
  });
});

describe('MERU: the whole whsec_ string is the key, as UTF-8', () => {
  const scheme = createSource('meru', {});
  const secret = 'whsec_c2VjcmV0LWJ5dGVz';

  it('accepts the seed recipe and signs exactly so', () => {
    const expected = hmac('sha256', secret, `${now}.${body}`, 'hex');
    expect(verdict(scheme, { 'meru-signature': `v1,t=${now},s=${expected}` }, [secret])).toBe('accepted');
    expect(scheme.sign({ body, secret, nowSec: now, id: 'evt_1', type: 'email.received' })['meru-signature']).toBe(`v1,t=${now},s=${expected}`);
  });

  it('refuses a MAC keyed by the base64-decoded secret, as Standard Webhooks would compute it', () => {
    const decoded = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const standard = hmac('sha256', decoded, `${now}.${body}`, 'hex');
    expect(verdict(scheme, { 'meru-signature': `v1,t=${now},s=${standard}` }, [secret])).toBe('HL_SIGNATURE_MISMATCH');
  });
});

describe('standard-webhooks: the key is the base64 after whsec_', () => {
  const scheme = createSource('app', { preset: 'standard-webhooks' });
  const key = Buffer.from('0123456789abcdef0123456789abcdef');
  const secret = `whsec_${key.toString('base64')}`;

  it('accepts base64(HMAC(decoded key, "<id>.<t>.<body>")) with the whsec_ prefix or without it', () => {
    const signature = hmac('sha256', key, `msg_1.${now}.${body}`, 'base64');
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': `v1,${signature}` };
    expect(verdict(scheme, headers, [secret])).toBe('accepted');
    expect(verdict(scheme, headers, [key.toString('base64')])).toBe('accepted');
    // Keyed by the secret's text (as MERU does) it is another MAC.
    expect(verdict(scheme, { ...headers, 'webhook-signature': `v1,${hmac('sha256', secret, `msg_1.${now}.${body}`, 'base64')}` }, [secret])).toBe('HL_SIGNATURE_MISMATCH');
  });

  it('reads a repeated signature header joined by Node (", ")', () => {
    const signature = hmac('sha256', key, `msg_1.${now}.${body}`, 'base64');
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': [`v1,${Buffer.alloc(32).toString('base64')}`, `v1,${signature}`] };
    expect(verdict(scheme, headers, [secret])).toBe('accepted');
  });

  it('says what is wrong with a secret that is not whsec_<base64>', () => {
    expect(scheme.secretProblem('whsec_not base64!')).toMatch(/whsec_ followed by base64/);
    expect(scheme.secretProblem('whsec_')).toMatch(/whsec_/);
    expect(scheme.secretProblem(secret)).toBeUndefined();
  });
});

describe('shopify: base64 HMAC-SHA256 of the body, keyed by the client secret', () => {
  it('accepts the documented computation', () => {
    const scheme = createSource('shop', { preset: 'shopify' });
    expect(verdict(scheme, { 'x-shopify-hmac-sha256': hmac('sha256', 'shh', body, 'base64') }, ['shh'])).toBe('accepted');
  });
});

describe('stripe: an API key is not a signing secret', () => {
  it('says where the signing secret is', () => {
    const scheme = createSource('stripe', { preset: 'stripe' });
    expect(scheme.secretProblem('sk_live_abc')).toMatch(/whsec_/);
    expect(scheme.secretProblem('whsec_abc')).toBeUndefined();
  });
});

describe('hmac: each option changes the MAC as configured', () => {
  it('sha1, base64, no prefix, over the body only', () => {
    const scheme = createSource('c', { preset: 'hmac', signature: { header: 'x-sig', encoding: 'base64', algorithm: 'sha1' } });
    expect(verdict(scheme, { 'x-sig': hmac('sha1', 'k', body, 'base64') }, ['k'])).toBe('accepted');
    expect(verdict(scheme, { 'x-sig': hmac('sha256', 'k', body, 'base64') }, ['k'])).toBe('HL_SIGNATURE_MALFORMED');
  });

  it('a template with text after the body, and the id header signed', () => {
    const scheme = createSource('c', { preset: 'hmac', signature: { header: 'x-sig', prefix: 'v1=', signed: '{id}|{body}|end', id_header: 'x-id' } });
    const mac = hmac('sha256', 'k', `d-7|${body}|end`, 'hex');
    expect(verdict(scheme, { 'x-sig': `v1=${mac}`, 'x-id': 'd-7' }, ['k'])).toBe('accepted');
    expect(verdict(scheme, { 'x-sig': `v1=${mac}`, 'x-id': 'd-8' }, ['k'])).toBe('HL_SIGNATURE_MISMATCH');
    const signed = scheme.sign({ body, secret: 'k', nowSec: now, id: 'd-7', type: 't' });
    expect(signed).toMatchObject({ 'x-sig': `v1=${mac}`, 'x-id': 'd-7' });
  });

  it('a 13-digit timestamp is milliseconds: signed as written, windowed in seconds', () => {
    const scheme = createSource('c', { preset: 'hmac', signature: { header: 'x-sig', signed: '{timestamp}.{body}', timestamp_header: 'x-ts' } });
    const at = (ms: number) => ({ 'x-ts': String(ms), 'x-sig': hmac('sha256', 'k', `${ms}.${body}`, 'hex') });
    expect(verdict(scheme, at(now * 1000 + 250), ['k'])).toBe('accepted');
    expect(verdict(scheme, at((now - 300) * 1000), ['k'])).toBe('accepted');
    expect(verdict(scheme, at((now - 301) * 1000), ['k'])).toBe('HL_TIMESTAMP_STALE');
    expect(scheme.precheck(at((now + 301) * 1000), now, 300)?.code).toBe('HL_TIMESTAMP_STALE');
    expect(verdict(scheme, { 'x-ts': '12345678901234', 'x-sig': 'ab'.repeat(32) }, ['k'])).toBe('HL_SIGNATURE_MALFORMED');
  });

  it('the prefix is matched without regard to case, and entries without it are ignored', () => {
    const scheme = createSource('c', { preset: 'hmac', signature: { header: 'x-sig', prefix: 'sha256=' } });
    const mac = hmac('sha256', 'k', body, 'hex');
    expect(verdict(scheme, { 'x-sig': `SHA256=${mac}` }, ['k'])).toBe('accepted');
    expect(verdict(scheme, { 'x-sig': `sha1=${'ab'.repeat(20)}, sha256=${mac}` }, ['k'])).toBe('accepted');
  });
});
