import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerValue } from '../../src/sources/headers.ts';
import { createSource } from '../../src/sources/index.ts';
import { macVerifier } from '../../src/sources/signature.ts';

describe('macVerifier', () => {
  const body = Buffer.from('{"id":"evt_1"}');
  const scheme = (derive: (secret: string) => Buffer) =>
    macVerifier({
      algorithm: 'sha256',
      key: derive,
      parse: (headers) => ({ signatures: [Buffer.from(String(headers.sig), 'hex')], before: '' }),
    });
  const sig = (key: Buffer) => createHmac('sha256', key).update(body).digest('hex');

  it('derives a secret\'s key once, not on every delivery (a Buffer key makes Node\'s HMAC about five times slower)', () => {
    let derived = 0;
    const verifier = scheme((secret) => {
      derived += 1;
      return Buffer.from(secret, 'base64');
    });
    const secrets = ['a2V5LW9uZQ==', 'a2V5LXR3bw=='];
    for (let i = 0; i < 50; i++) verifier.verify({ rawBody: body, headers: { sig: sig(Buffer.from('key-two')) }, secrets, nowSec: 0, toleranceSec: 300 });
    expect(derived).toBe(2);
  });

  it('stays correct past the memo\'s bound', () => {
    const verifier = scheme((secret) => Buffer.from(secret));
    for (let i = 0; i < 100; i++) {
      const secret = `secret-${i}`;
      const headers = { sig: sig(Buffer.from(secret)) };
      expect(() => verifier.verify({ rawBody: body, headers, secrets: [secret], nowSec: 0, toleranceSec: 300 })).not.toThrow();
      expect(() => verifier.verify({ rawBody: body, headers, secrets: [`secret-${i + 1}`], nowSec: 0, toleranceSec: 300 })).toThrow(/does not match/);
    }
  });
});

describe('the streaming check', () => {
  const scheme = createSource('app', { preset: 'standard-webhooks' });
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = JSON.stringify({ type: 'invoice.paid', data: { note: 'é'.repeat(5_000) } });
  const headers = scheme.sign({ body, secret, nowSec: 1_000, id: 'msg_1', type: 'invoice.paid' });

  it('verifies a body fed in chunks of any size, cut anywhere (inside a UTF-8 character too)', () => {
    const bytes = Buffer.from(body);
    for (const size of [1, 7, 1_000, bytes.length]) {
      const signature = scheme.begin({ headers, secrets: ['whsec_dGhlLW9sZC1zZWNyZXQtYnl0ZXMtMTIzNDU2', secret], nowSec: 1_000, toleranceSec: 300 });
      for (let at = 0; at < bytes.length; at += size) signature.update(bytes.subarray(at, at + size));
      expect(() => signature.verify(1_000), `chunks of ${size}`).not.toThrow();
    }
  });

  it('refuses at begin what the head shows, and at verify a changed byte or a body that outlived the tolerance', () => {
    expect(() => scheme.begin({ headers: {}, secrets: [secret], nowSec: 1_000, toleranceSec: 300 })).toThrow(expect.objectContaining({ code: 'HL_SIGNATURE_MISSING' }));
    expect(() => scheme.begin({ headers, secrets: [secret], nowSec: 1_301, toleranceSec: 300 })).toThrow(expect.objectContaining({ code: 'HL_TIMESTAMP_STALE' }));
    const changed = scheme.begin({ headers, secrets: [secret], nowSec: 1_000, toleranceSec: 300 });
    changed.update(Buffer.from(body.replace('invoice', 'invoicf')));
    expect(() => changed.verify(1_000)).toThrow(expect.objectContaining({ code: 'HL_SIGNATURE_MISMATCH' }));
    const slow = scheme.begin({ headers, secrets: [secret], nowSec: 1_000, toleranceSec: 300 });
    slow.update(Buffer.from(body));
    expect(() => slow.verify(1_301)).toThrow(expect.objectContaining({ code: 'HL_TIMESTAMP_STALE' }));
  });

  it('an hmac template puts signed text before and after the body, and streams all the same', () => {
    const hmac = createSource('c', { preset: 'hmac', signature: { header: 'x-sig', signed: 'v0:{timestamp}:{body}:end', timestamp_header: 'x-ts' } });
    const signed = hmac.sign({ body, secret: 's3cret', nowSec: 1_000, id: 'e1', type: 't' });
    const expected = createHmac('sha256', 's3cret').update(`v0:1000:${body}:end`).digest('hex');
    expect(signed['x-sig']).toBe(expected);
    const signature = hmac.begin({ headers: signed, secrets: ['s3cret'], nowSec: 1_000, toleranceSec: 300 });
    const bytes = Buffer.from(body);
    signature.update(bytes.subarray(0, 3));
    signature.update(bytes.subarray(3));
    expect(() => signature.verify(1_000)).not.toThrow();
  });
});

describe('headerValue', () => {
  it('finds a header whatever its case, trims it, joins a repeated one, and reads blank as absent', () => {
    expect(headerValue({ 'x-a': ' v ' }, 'X-A')).toBe('v');
    expect(headerValue({ 'X-Shopify-Topic': 'orders/create' }, 'x-shopify-topic')).toBe('orders/create');
    expect(headerValue({ 'x-a': ['1', '2'] }, 'x-a')).toBe('1, 2');
    expect(headerValue({ 'x-a': '  ' }, 'x-a')).toBeUndefined();
    expect(headerValue({}, 'x-a')).toBeUndefined();
  });
});
