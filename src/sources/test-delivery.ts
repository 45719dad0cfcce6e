import { randomBytes } from 'node:crypto';
import { findSample } from './samples.ts';
import type { SourceScheme, TestDelivery } from './types.ts';

/**
 * A test event as `hookline send`, the console's "Send test event" and the benchmark build and sign
 * it, so that all of them deliver exactly the same request for a source.
 */

export interface SignedDelivery {
  id: string;
  type: string;
  body: string;
  headers: Record<string, string>;
}

export function testEventId(): string {
  return `evt_test_${randomBytes(8).toString('hex')}`;
}

/**
 * A sample by name or type, with a fresh id and time (muro: marked `data.test: true`); a type with no
 * sample is sent as a bare event of that type, unless the source sends only known types. Undefined
 * when the source has no such sample or type.
 */
export function sampleDelivery(scheme: SourceScheme, name: string, nowSec: number, id = testEventId()): TestDelivery | undefined {
  const sample = findSample(scheme, name) ?? (isType(name) && (!scheme.eventTypes || scheme.eventTypes.includes(name)) ? { type: name, body: {} } : undefined);
  return sample && scheme.testEvent(sample, { id, nowSec });
}

/**
 * The operator's own JSON, sent as written: its id and type where the source reads them from the
 * body, else a fresh id and `type` (a provider that names the type in a header: GitHub, Shopify).
 */
export async function bodyDelivery(scheme: Pick<SourceScheme, 'identify'>, body: Record<string, unknown>, type?: string, fallbackId = testEventId()): Promise<TestDelivery> {
  const found = await scheme.identify({ body, headers: {} });
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined);
  return { id: text(found.id) ?? fallbackId, type: type ?? text(found.type) ?? 'unknown', body };
}

/** The body and headers of a delivery, signed with `secret` at `nowSec` as the provider signs. */
export function signDelivery(scheme: SourceScheme, delivery: TestDelivery, secret: string, nowSec: number): SignedDelivery {
  const body = JSON.stringify(delivery.body);
  return { id: delivery.id, type: delivery.type, body, headers: scheme.sign({ body, secret, nowSec, id: delivery.id, type: delivery.type }) };
}

const isType = (name: string) => /^[\w.:/-]+$/.test(name) && !name.endsWith('.json');

/** The names `send` and the console offer for a source: its samples. */
export function sampleNames(scheme: Pick<SourceScheme, 'samples'>): string[] {
  return Object.keys(scheme.samples());
}
