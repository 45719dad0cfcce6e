import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SourceName } from '../config/schema.ts';
import { signatureHeaders } from '../verify/sign.ts';
import { sampleFile } from './samples.ts';

/**
 * A test event as `hookline send` and the console's "Send test event" build and sign it, so that
 * both deliver exactly the same request.
 */

/** A sample event by type or sample name, with a fresh id; muro samples are marked data.test = true. */
export function sampleEvent(source: SourceName, name: string, now = Date.now()): Record<string, unknown> | undefined {
  const file = sampleFile(source, name);
  const id = `evt_test_${randomBytes(8).toString('hex')}`;
  const at = new Date(now).toISOString();
  if (!file) {
    return source === 'muro' ? { id, type: name, created_at: at, data: { test: true } } : undefined;
  }
  const event = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (source === 'meru') return { ...event, event_id: id, timestamp: at };
  return { ...event, id, created_at: at, data: { ...(event.data as object), test: true } };
}

export interface SignedDelivery {
  id: string;
  type: string;
  body: string;
  headers: Record<string, string>;
}

/** The body and signature headers of a delivery of `event`, signed with `secret` at `nowMs`. */
export function signedDelivery(source: SourceName, event: Record<string, unknown>, secret: string, nowMs: number): SignedDelivery {
  const body = JSON.stringify(event);
  const id = String(event.id ?? event.event_id ?? '');
  const type = source === 'meru' ? 'email.received' : String(event.type ?? 'unknown');
  return { id, type, body, headers: signatureHeaders(source, body, secret, Math.floor(nowMs / 1000), { id, type }) };
}
