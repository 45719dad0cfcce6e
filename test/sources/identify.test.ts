import { describe, expect, it } from 'vitest';
import { ReceiveError } from '../../src/errors.ts';
import { readIdentity } from '../../src/sources/identity.ts';
import { createSource } from '../../src/sources/index.ts';

// Where each preset takes an event's id (the dedup key) and type from (PRODUCT §1, §9).

describe('identity per preset', () => {
  it('muro: body id and type only; the unsigned x-muro-event-id and x-muro-event headers are never trusted', async () => {
    const scheme = createSource('muro', {});
    const headers = { 'x-muro-event-id': 'evt_forged', 'x-muro-event': 'conversation.closed' };
    expect(await readIdentity(scheme, { body: { id: 'evt_1', type: 'message.created' }, headers })).toEqual({ id: 'evt_1', type: 'message.created' });
    expect(await readIdentity(scheme, { body: { type: 'message.created' }, headers })).toEqual({ id: undefined, type: 'message.created' });
    expect(await readIdentity(scheme, { body: { id: 42 }, headers })).toEqual({ id: '42', type: 'unknown' });
  });

  it('meru: body event_id; always email.received', async () => {
    const scheme = createSource('meru', {});
    expect(await readIdentity(scheme, { body: { event_id: 'evt_m', id: 'other', type: 'x' }, headers: {} })).toEqual({ id: 'evt_m', type: 'email.received' });
    expect(await readIdentity(scheme, { body: {}, headers: {} })).toEqual({ id: undefined, type: 'email.received' });
  });

  it('standard-webhooks: the signed webhook-id (or svix-id), not the body id; body type', async () => {
    const scheme = createSource('app', { preset: 'standard-webhooks' });
    const body = { id: 'inv_1', type: 'invoice.paid' };
    expect(await readIdentity(scheme, { body, headers: { 'webhook-id': 'msg_1', 'webhook-signature': 'v1,x' } })).toEqual({ id: 'msg_1', type: 'invoice.paid' });
    expect(await readIdentity(scheme, { body, headers: { 'svix-id': 'msg_2', 'svix-signature': 'v1,x' } })).toEqual({ id: 'msg_2', type: 'invoice.paid' });
    expect(await readIdentity(scheme, { body: {}, headers: {} })).toEqual({ id: undefined, type: 'unknown' });
  });

  it('github: X-GitHub-Delivery; X-GitHub-Event plus .<action> when the body has a string action', async () => {
    const scheme = createSource('gh', { preset: 'github' });
    const headers = { 'x-github-delivery': '72d3162e', 'x-github-event': 'issues' };
    expect(await readIdentity(scheme, { body: { action: 'opened' }, headers })).toEqual({ id: '72d3162e', type: 'issues.opened' });
    expect(await readIdentity(scheme, { body: { zen: 'x' }, headers: { ...headers, 'x-github-event': 'ping' } })).toEqual({ id: '72d3162e', type: 'ping' });
    expect(await readIdentity(scheme, { body: { action: { not: 'a string' } }, headers })).toEqual({ id: '72d3162e', type: 'issues' });
    expect(await readIdentity(scheme, { body: {}, headers: { 'X-GitHub-Event': 'push' } })).toEqual({ id: undefined, type: 'push' });
  });

  it('stripe: body id and type', async () => {
    const scheme = createSource('stripe', { preset: 'stripe' });
    expect(await readIdentity(scheme, { body: { id: 'evt_1', type: 'charge.refunded' }, headers: {} })).toEqual({ id: 'evt_1', type: 'charge.refunded' });
  });

  it('shopify: X-Shopify-Webhook-Id and X-Shopify-Topic', async () => {
    const scheme = createSource('shop', { preset: 'shopify' });
    const headers = { 'x-shopify-webhook-id': 'b545', 'x-shopify-topic': 'orders/create' };
    expect(await readIdentity(scheme, { body: { id: 1 }, headers })).toEqual({ id: 'b545', type: 'orders/create' });
  });

  describe('hmac: JSONata over { body, headers }', () => {
    const signature = { header: 'x-signature' };

    it('reads what the expressions say, with lower-case header names', async () => {
      const scheme = createSource('c', { preset: 'hmac', signature, id: 'body.event_id', type: 'headers."x-event"' });
      expect(await readIdentity(scheme, { body: { event_id: 'e1' }, headers: { 'X-Event': 'order.paid' } })).toEqual({ id: 'e1', type: 'order.paid' });
    });

    it('computes: a number becomes a string, expressions may combine fields', async () => {
      const scheme = createSource('c', { preset: 'hmac', signature, id: 'body.order.number', type: 'body.kind & "." & body.action' });
      expect(await readIdentity(scheme, { body: { order: { number: 1042 }, kind: 'order', action: 'paid' }, headers: {} })).toEqual({ id: '1042', type: 'order.paid' });
    });

    it('defaults: id body.id (or the signed id_header), type body.type; absent reads as undefined / unknown', async () => {
      const plain = createSource('c', { preset: 'hmac', signature });
      expect(await readIdentity(plain, { body: { id: 'a', type: 't' }, headers: {} })).toEqual({ id: 'a', type: 't' });
      expect(await readIdentity(plain, { body: {}, headers: {} })).toEqual({ id: undefined, type: 'unknown' });
      const withId = createSource('c', { preset: 'hmac', signature: { header: 'x-signature', signed: '{id}.{body}', id_header: 'X-Delivery' } });
      expect(await readIdentity(withId, { body: { id: 'body-id' }, headers: { 'x-delivery': 'hdr-id' } })).toEqual({ id: 'hdr-id', type: 'unknown' });
    });

    it('an expression that fails to evaluate gives no id rather than an error', async () => {
      const scheme = createSource('c', { preset: 'hmac', signature, id: '$number(body.id) + 1', type: '$error("boom")' });
      expect(await readIdentity(scheme, { body: { id: 'not a number' }, headers: {} })).toEqual({ id: undefined, type: 'unknown' });
    });
  });

  it('refuses an id or type that is not short printable text as invalid, never as missing (400 either way, with the right code)', async () => {
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (error: unknown) => (error instanceof ReceiveError ? error.code : String(error)),
      );
    const muro = createSource('muro', {});
    expect(await codeOf(readIdentity(muro, { body: { id: { nested: 1 } }, headers: {} }))).toBe('HL_EVENT_ID_INVALID');
    expect(await codeOf(readIdentity(muro, { body: { id: 'e', type: ['a'] }, headers: {} }))).toBe('HL_EVENT_TYPE_INVALID');
    expect(await codeOf(readIdentity(createSource('meru', {}), { body: { event_id: 'x'.repeat(257) }, headers: {} }))).toBe('HL_EVENT_ID_INVALID');
    const hmac = createSource('c', { preset: 'hmac', signature: { header: 'x-signature' }, id: 'body.ids' });
    expect(await codeOf(readIdentity(hmac, { body: { ids: ['a', 'b'] }, headers: {} }))).toBe('HL_EVENT_ID_INVALID');
  });
});
