import '@shopify/shopify-api/adapters/web-api';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { getHmac as shopifyHmac } from '@shopify/shopify-api/test-helpers';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VerificationError } from '../../src/errors.ts';
import { readIdentity } from '../../src/sources/identity.ts';
import { createSource, type RequestHeaders, type SourceScheme } from '../../src/sources/index.ts';

// Round trips both ways against each provider's own published library: what the library signs
// hookline accepts, and what hookline signs the library accepts. The libraries read Date.now(),
// so the clock is fixed for them as it is injected into hookline.

const nowSec = 1_790_000_000;
const tolerance = 300;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(nowSec * 1000);
});
afterEach(() => vi.useRealTimers());

function accepts(scheme: SourceScheme, body: string, headers: RequestHeaders, secrets: readonly string[], at = nowSec): string {
  try {
    scheme.verify({ rawBody: Buffer.from(body), headers, secrets, nowSec: at, toleranceSec: tolerance });
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
}

/** Header names as Node hands them to the receiver. */
function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

describe('standard-webhooks against standardwebhooks and svix', () => {
  const scheme = createSource('app', { preset: 'standard-webhooks' });
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = JSON.stringify({ type: 'invoice.paid', timestamp: '2026-11-20T10:00:00Z', data: { id: 'inv_1', note: 'payé ✓' } });
  const id = 'msg_2LrF3xQp9Zk1';

  it('accepts what the standardwebhooks library signs, with the id it signed', async () => {
    const signature = new StandardWebhook(secret).sign(id, new Date(nowSec * 1000), body);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(nowSec), 'webhook-signature': signature };
    expect(accepts(scheme, body, headers, [secret])).toBe('accepted');
    expect(await readIdentity(scheme, { body: JSON.parse(body), headers })).toEqual({ id, type: 'invoice.paid' });
    expect(accepts(scheme, body, headers, ['whsec_dGhlLW9sZC1zZWNyZXQtYnl0ZXMtMTIzNDU2'])).toBe('HL_SIGNATURE_MISMATCH');
  });

  it('is accepted by standardwebhooks and by svix when hookline signs', () => {
    const headers = scheme.sign({ body, secret, nowSec, id, type: 'invoice.paid' });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new SvixWebhook(secret).verify(body, headers)).not.toThrow();
    // The libraries do check: another secret is refused by both.
    const other = 'whsec_dGhlLW9sZC1zZWNyZXQtYnl0ZXMtMTIzNDU2';
    expect(() => new StandardWebhook(other).verify(body, headers)).toThrow();
    expect(() => new SvixWebhook(other).verify(body, headers)).toThrow();
  });

  it('accepts what svix signs under its own header names (svix-id, svix-timestamp, svix-signature)', async () => {
    const signature = new SvixWebhook(secret).sign(id, new Date(nowSec * 1000), body);
    const headers = { 'svix-id': id, 'svix-timestamp': String(nowSec), 'svix-signature': signature };
    expect(accepts(scheme, body, headers, [secret])).toBe('accepted');
    expect(await readIdentity(scheme, { body: JSON.parse(body), headers })).toEqual({ id, type: 'invoice.paid' });
  });

  it('agrees with the library on staleness: what the library refuses as too old or too new, hookline refuses', () => {
    for (const t of [nowSec - tolerance - 1, nowSec + tolerance + 1]) {
      const headers = scheme.sign({ body, secret, nowSec: t, id, type: 'invoice.paid' });
      expect(() => new StandardWebhook(secret).verify(body, headers)).toThrow(/too (old|new)/);
      expect(accepts(scheme, body, headers, [secret])).toBe('HL_TIMESTAMP_STALE');
    }
  });

  it('accepts a delivery signed under a rotation: two v1 signatures, hookline holding either secret', () => {
    const old = 'whsec_dGhlLW9sZC1zZWNyZXQtYnl0ZXMtMTIzNDU2';
    const when = new Date(nowSec * 1000);
    const signature = `${new StandardWebhook(old).sign(id, when, body)} ${new StandardWebhook(secret).sign(id, when, body)}`;
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(nowSec), 'webhook-signature': signature };
    expect(accepts(scheme, body, headers, [secret])).toBe('accepted');
    expect(accepts(scheme, body, headers, [old])).toBe('accepted');
  });

  it('uses a dev secret the library accepts', () => {
    const dev = scheme.newDevSecret();
    expect(scheme.secretProblem(dev)).toBeUndefined();
    const headers = scheme.sign({ body, secret: dev, nowSec, id, type: 'invoice.paid' });
    expect(() => new StandardWebhook(dev).verify(body, headers)).not.toThrow();
  });
});

describe('github against @octokit/webhooks-methods', () => {
  const scheme = createSource('github', { preset: 'github' });
  const secret = "It's a Secret to Everybody";
  // GitHub's documented test vector: this payload and secret give this signature.
  const documented = { body: 'Hello, World!', signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };

  it('accepts GitHub\'s documented vector, and octokit agrees with it', async () => {
    expect(await octokitSign(secret, documented.body)).toBe(documented.signature);
    expect(accepts(scheme, documented.body, { 'x-hub-signature-256': documented.signature }, [secret])).toBe('accepted');
  });

  it('accepts what octokit signs, and octokit verifies what hookline signs', async () => {
    const body = JSON.stringify({ action: 'opened', issue: { number: 42, title: 'ünïcode' } });
    const signature = await octokitSign(secret, body);
    expect(accepts(scheme, body, { 'x-hub-signature-256': signature }, [secret])).toBe('accepted');
    expect(accepts(scheme, body, { 'x-hub-signature-256': signature }, ['another'])).toBe('HL_SIGNATURE_MISMATCH');

    const headers = scheme.sign({ body, secret, nowSec, id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', type: 'issues.opened' });
    expect(await octokitVerify(secret, body, headers['x-hub-signature-256']!)).toBe(true);
    expect(await octokitVerify('another', body, headers['x-hub-signature-256']!)).toBe(false);
    expect(headers['x-github-event']).toBe('issues');
    expect(await readIdentity(scheme, { body: JSON.parse(body), headers })).toEqual({ id: '72d3162e-cc78-11e3-81ab-4c9367dc0958', type: 'issues.opened' });
  });

  it('verifies a dev secret octokit accepts', async () => {
    const dev = scheme.newDevSecret();
    const headers = scheme.sign({ body: '{}', secret: dev, nowSec, id: 'd', type: 'ping' });
    expect(await octokitVerify(dev, '{}', headers['x-hub-signature-256']!)).toBe(true);
  });
});

describe('stripe against the stripe library', () => {
  const scheme = createSource('stripe', { preset: 'stripe' });
  const stripe = new Stripe('sk_test_not_used_no_network');
  const secret = 'whsec_test_5f0c1d2e3a4b5c6d7e8f9a0b';
  const event = { id: 'evt_1QxYz2LkdIwHu7ix', object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', amount: 4900 } } };
  const body = JSON.stringify(event, null, 2);

  it('accepts what generateTestHeaderString signs', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowSec });
    const headers = { 'stripe-signature': header };
    expect(accepts(scheme, body, headers, [secret])).toBe('accepted');
    expect(accepts(scheme, body, headers, ['whsec_other'])).toBe('HL_SIGNATURE_MISMATCH');
    expect(await readIdentity(scheme, { body: JSON.parse(body), headers })).toEqual({ id: event.id, type: event.type });
  });

  it('is accepted by constructEvent when hookline signs, with the same id and type', () => {
    const headers = scheme.sign({ body, secret, nowSec, id: event.id, type: event.type });
    const constructed = stripe.webhooks.constructEvent(body, headers['stripe-signature']!, secret, tolerance, undefined, nowSec * 1000);
    expect({ id: constructed.id, type: constructed.type }).toEqual({ id: event.id, type: event.type });
    expect(() => stripe.webhooks.constructEvent(body, headers['stripe-signature']!, 'whsec_other', tolerance, undefined, nowSec * 1000)).toThrow();
  });

  it('agrees with constructEvent on staleness', () => {
    const headers = scheme.sign({ body, secret, nowSec: nowSec - tolerance - 1, id: event.id, type: event.type });
    expect(() => stripe.webhooks.constructEvent(body, headers['stripe-signature']!, secret, tolerance, undefined, nowSec * 1000)).toThrow(/tolerance/);
    expect(accepts(scheme, body, headers, [secret])).toBe('HL_TIMESTAMP_STALE');
  });

  it('accepts a header with several v1 signatures, as Stripe sends while a secret is rolled', () => {
    const old = 'whsec_test_old_rolled';
    const a = stripe.webhooks.generateTestHeaderString({ payload: body, secret: old, timestamp: nowSec });
    const b = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowSec });
    const header = `${a},v1=${b.split('v1=')[1]}`;
    expect(() => stripe.webhooks.constructEvent(body, header, secret, tolerance, undefined, nowSec * 1000)).not.toThrow();
    expect(accepts(scheme, body, { 'stripe-signature': header }, [secret])).toBe('accepted');
    expect(accepts(scheme, body, { 'stripe-signature': header }, [old])).toBe('accepted');
  });

  it('uses a dev secret constructEvent accepts', () => {
    const dev = scheme.newDevSecret();
    const headers = scheme.sign({ body, secret: dev, nowSec, id: event.id, type: event.type });
    expect(stripe.webhooks.constructEvent(body, headers['stripe-signature']!, dev, tolerance, undefined, nowSec * 1000).id).toBe(event.id);
  });
});

describe('shopify against @shopify/shopify-api', () => {
  const scheme = createSource('shop', { preset: 'shopify' });
  const secret = 'shpss_0123456789abcdef0123456789abcdef';
  const body = JSON.stringify({ id: 5802930012345, email: 'jane@bigcustomer.example', note: 'livraison à 9h' });

  async function shopifyValidates(apiSecretKey: string, headers: Record<string, string>) {
    const shopify = shopifyApi({
      apiKey: 'hookline-test',
      apiSecretKey,
      hostName: 'hookline.test',
      apiVersion: ApiVersion.October25,
      isEmbeddedApp: false,
      logger: { level: LogSeverity.Error },
    });
    const rawRequest = new Request('https://hookline.test/shopify/webhook', { method: 'POST', body, headers });
    return shopify.webhooks.validate({ rawBody: body, rawRequest });
  }

  it('accepts what Shopify\'s own HMAC helper signs', async () => {
    const headers = lower({ 'X-Shopify-Hmac-Sha256': shopifyHmac(body, secret), 'X-Shopify-Topic': 'orders/create', 'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' });
    expect(accepts(scheme, body, headers, [secret])).toBe('accepted');
    expect(accepts(scheme, body, headers, ['another'])).toBe('HL_SIGNATURE_MISMATCH');
    expect(await readIdentity(scheme, { body: JSON.parse(body), headers })).toEqual({ id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', type: 'orders/create' });
  });

  it('is accepted by shopify.webhooks.validate when hookline signs, with the same id and topic', async () => {
    const headers = scheme.sign({ body, secret, nowSec, id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', type: 'orders/create' });
    const result = await shopifyValidates(secret, headers);
    expect(result).toMatchObject({ valid: true, webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', topic: 'ORDERS_CREATE' });
    expect(await shopifyValidates('another', headers)).toMatchObject({ valid: false });
  });

  it('uses a dev secret Shopify\'s validator accepts', async () => {
    const dev = scheme.newDevSecret();
    const headers = scheme.sign({ body, secret: dev, nowSec, id: 'w1', type: 'orders/create' });
    expect(await shopifyValidates(dev, headers)).toMatchObject({ valid: true });
  });
});
