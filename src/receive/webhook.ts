import type { SourceName } from '../config/schema.ts';
import { receiveErrors, StoreUnavailableError, VerificationError, type ReceiveErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { safeHeaders, sourceSchemes } from './sources.ts';

export interface SourceSettings {
  name: SourceName;
  secrets: readonly string[];
  toleranceMs: number;
  dedupTtlMs: number;
}

export interface WebhookDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Called after an event was stored (not for duplicates): the worker has something to do. */
  onStored?: () => void;
  /** Turns a verified event into the JSON text to store (MERU: attachments moved to disk). */
  prepare?: (source: SourceName, event: Record<string, unknown>, raw: string) => Promise<string>;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
  /** For metrics: accepted, duplicate, or the rejection code. */
  outcome: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The receiving path of PRODUCT §1, in its order: verify the raw bytes, check the timestamp, parse,
 * then dedup and persist in one transaction, and answer 200 only after the commit.
 */
export async function receiveWebhook(
  deps: WebhookDeps,
  source: SourceSettings,
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
): Promise<WebhookAnswer> {
  const scheme = sourceSchemes[source.name];
  const now = deps.clock.now();
  try {
    const header = headers[scheme.signatureHeader];
    scheme.verify({
      rawBody,
      header: Array.isArray(header) ? header.join(',') : header,
      secrets: source.secrets,
      now: Math.floor(now / 1000),
      toleranceSec: source.toleranceMs / 1000,
    });
  } catch (error) {
    if (error instanceof VerificationError) return reject(error.code);
    throw error;
  }

  let text: string;
  try {
    text = utf8.decode(rawBody);
  } catch {
    return reject('HL_BODY_NOT_UTF8');
  }
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return reject('HL_BODY_NOT_JSON');
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return reject('HL_BODY_NOT_JSON');

  const body = event as Record<string, unknown>;
  const { eventId, type } = scheme.identify(body, headers);
  if (eventId === undefined) return reject('HL_EVENT_ID_MISSING');

  try {
    const stored = deps.prepare ? await deps.prepare(source.name, body, text) : text;
    const result = await deps.store.events.receive(
      {
        source: source.name,
        eventId,
        type,
        receivedAt: now,
        headers: safeHeaders(headers),
        body: stored,
        test: (body.data as { test?: unknown } | undefined)?.test === true,
      },
      source.dedupTtlMs,
    );
    if (result.duplicate) {
      deps.logger.debug({ source: source.name, eventId }, 'duplicate event');
      return { status: 200, body: { ok: true, duplicate: true }, outcome: 'duplicate' };
    }
    deps.logger.debug({ source: source.name, eventId, type, seq: result.seq }, 'event accepted');
    deps.onStored?.();
    return { status: 200, body: { ok: true, id: eventId }, outcome: 'accepted' };
  } catch (error) {
    // Never 2xx for an event a crash could lose: the sender retries on 503.
    const message = error instanceof StoreUnavailableError ? error.message : String(error);
    deps.logger.error({ source: source.name, eventId, error: message }, 'cannot persist event');
    return reject('HL_STORE_UNAVAILABLE');
  }
}

export function errorBody(code: ReceiveErrorCode, message: string = receiveErrors[code].message) {
  return { ok: false, code, error: message };
}

function reject(code: ReceiveErrorCode): WebhookAnswer {
  return { status: receiveErrors[code].status, body: errorBody(code), outcome: outcomeOf(code) };
}

/** HL_SIGNATURE_MISMATCH -> signature_mismatch */
export function outcomeOf(code: ReceiveErrorCode): string {
  return code.slice(3).toLowerCase();
}
