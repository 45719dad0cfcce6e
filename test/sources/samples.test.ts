import { describe, expect, it } from 'vitest';
import { readIdentity } from '../../src/sources/identity.ts';
import { createSource, findSample, presetNames, type PresetName, type SourceScheme } from '../../src/sources/index.ts';

// `hookline send` and recipe tests build a delivery from a sample: testEvent → sign → (receiver)
// verify → identify must give back the same id and type, for every sample of every preset.

const config: Record<PresetName, Record<string, unknown>> = {
  muro: {},
  meru: {},
  'standard-webhooks': { preset: 'standard-webhooks' },
  github: { preset: 'github' },
  stripe: { preset: 'stripe' },
  shopify: { preset: 'shopify' },
  hmac: { preset: 'hmac', signature: { header: 'x-signature', signed: '{timestamp}.{body}', timestamp_header: 'x-timestamp' }, id: 'body.event_id', type: 'headers."x-event"' },
};
const schemes = presetNames.map((name) => [name, createSource(name, config[name]!)] as const);
const nowSec = 1_795_168_800;

async function roundTrip(scheme: SourceScheme, sample: { type: string; body: Record<string, unknown> }, id: string) {
  const delivery = scheme.testEvent(sample, { id, nowSec });
  const secret = scheme.newDevSecret();
  const body = JSON.stringify(delivery.body);
  const headers = scheme.sign({ body, secret, nowSec, id: delivery.id, type: delivery.type });
  expect(scheme.precheck(headers, nowSec, 300)).toBeUndefined();
  scheme.verify({ rawBody: Buffer.from(body), headers, secrets: [secret], nowSec, toleranceSec: 300 });
  return { delivery, identity: await readIdentity(scheme, { body: JSON.parse(body), headers }) };
}

describe.each(schemes)('%s samples', (name, scheme) => {
  it('each sample signs, verifies and identifies as the id and type it was sent with', async () => {
    const samples = Object.entries(scheme.samples());
    if (name !== 'hmac') expect(samples.length).toBeGreaterThan(0);
    for (const [sampleName, sample] of samples) {
      const id = `evt_test_${sampleName.replace(/\W/g, '_')}`;
      const { delivery, identity } = await roundTrip(scheme, sample, id);
      expect(identity, sampleName).toEqual({ id, type: sample.type });
      expect(delivery.type).toBe(sample.type);
    }
  });

  it('a dev secret is fresh each time and fit for the provider', () => {
    const a = scheme.newDevSecret();
    expect(a).not.toBe(scheme.newDevSecret());
    expect(scheme.secretProblem(a)).toBeUndefined();
    expect(a.length).toBeGreaterThanOrEqual(32);
  });

  if (scheme.eventTypes) {
    it('its samples are of known event types', () => {
      for (const sample of Object.values(scheme.samples())) expect(scheme.eventTypes).toContain(sample.type);
    });
  }
});

describe('choosing a sample', () => {
  const scheme = (name: PresetName) => schemes.find(([n]) => n === name)![1];

  it('by type, the preferred one first; by exact name; by prefix', () => {
    expect(findSample(scheme('muro'), 'message.created')?.body.id).toBe('evt_test_01JD3M0000000000000000000');
    expect(findSample(scheme('muro'), 'message.created.agent')?.type).toBe('message.created');
    expect(findSample(scheme('meru'), 'email.received')?.body.headers).toMatchObject({ subject: expect.any(String) });
    expect(findSample(scheme('meru'), 'email.received')).toEqual(findSample(scheme('meru'), 'email.new-request'));
    expect(findSample(scheme('github'), 'issues')?.type).toBe('issues.opened');
    expect(findSample(scheme('shopify'), 'orders/create')?.type).toBe('orders/create');
    expect(findSample(scheme('stripe'), 'payment_intent.succeeded')?.body.object).toBe('event');
    expect(findSample(scheme('standard-webhooks'), 'invoice.paid')?.type).toBe('invoice.paid');
    expect(findSample(scheme('muro'), 'no.such.type')).toBeUndefined();
  });

  it('gives a copy: changing it leaves the sample alone', () => {
    const first = findSample(scheme('muro'), 'conversation.opened')!;
    (first.body.data as Record<string, unknown>).changed = true;
    expect((findSample(scheme('muro'), 'conversation.opened')!.body.data as Record<string, unknown>).changed).toBeUndefined();
  });
});

describe('test events', () => {
  const muro = createSource('muro', {});
  const meru = createSource('meru', {});

  it('muro: fresh id and time, and data.test = true as muro\'s "Send test event" marks it', () => {
    const delivery = muro.testEvent(findSample(muro, 'conversation.opened')!, { id: 'evt_new', nowSec });
    expect(delivery.body).toMatchObject({ id: 'evt_new', type: 'conversation.opened', created_at: new Date(nowSec * 1000).toISOString(), data: { test: true } });
    expect((delivery.body.data as Record<string, unknown>).conversation).toBeDefined();
  });

  it('meru: fresh event_id and timestamp', () => {
    const delivery = meru.testEvent(findSample(meru, 'email.reply')!, { id: 'evt_m', nowSec });
    expect(delivery).toMatchObject({ id: 'evt_m', type: 'email.received', body: { event_id: 'evt_m', timestamp: new Date(nowSec * 1000).toISOString() } });
  });

  it('hmac: the id and type go where the expressions read them', async () => {
    const hmac = schemes.find(([n]) => n === 'hmac')![1];
    const { delivery, identity } = await roundTrip(hmac, { type: 'order.paid', body: { amount: 3 } }, 'e-9');
    expect(delivery.body).toEqual({ amount: 3, event_id: 'e-9' });
    expect(identity).toEqual({ id: 'e-9', type: 'order.paid' });
  });
});
