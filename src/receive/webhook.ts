import { ReceiveError, receiveErrors, StoreUnavailableError, VerificationError, type ReceiveErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { readIdentity } from '../sources/identity.ts';
import type { BodySignature, SourceScheme } from '../sources/types.ts';
import { traceReceive } from '../observability/tracing.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { safeHeaders } from './safe-headers.ts';

/** A source as the receiver sees it; what a config reload may change is read at each request. */
export interface SourceSettings {
  name: string;
  /** The URL path it is received at. */
  path: string;
  /** Everything the receiver knows of the provider: how it signs, where id and type are, its rules. */
  readonly scheme: SourceScheme;
  readonly secrets: readonly string[];
  readonly toleranceMs: number;
  readonly dedupTtlMs: number;
}

export interface WebhookDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Called after an event was stored (not for duplicates): the worker has something to do. */
  onStored?: () => void;
  /** Where a source's receive-time hook saves files (MERU attachments). */
  attachmentsDir: string;
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
  /** For metrics: accepted, duplicate, or the rejection code. */
  outcome: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Headers = Record<string, string | string[] | undefined>;

/** A webhook whose head passed rule 0, and whose body is being read. */
export interface Delivery {
  /** The next chunk of the body, as it arrives: kept, and fed to the signature check. */
  write(chunk: Buffer): void;
  /** The body is complete: verify it, read the event, store it; the answer to give. */
  receive(): Promise<WebhookAnswer>;
}

/**
 * The receiving path of PRODUCT §1, for an HTTP adapter to call as soon as the request head is in.
 * Rule 0: a missing, malformed or stale signature header is `refused` without reading the body (the
 * adapter then closes the connection, so that the body is never read). Otherwise the adapter writes
 * the body's chunks to the `delivery` as they arrive and calls `receive()` at its end.
 *
 * With tracing on, a receive span covers it from the head to the answer, and the headers stored with
 * the event carry that span's context (for dispatch and runs to join the trace).
 */
export function beginWebhook(deps: WebhookDeps, source: SourceSettings, headers: Headers): { refused: WebhookAnswer } | { delivery: Delivery } {
  return traceReceive(source.name, headers, (traced) => beginReceive(deps, source, traced));
}

function beginReceive(deps: WebhookDeps, source: SourceSettings, headers: Headers): { refused: WebhookAnswer } | { delivery: Delivery } {
  // One scheme for the whole delivery, whatever a reload does meanwhile.
  const { scheme } = source;
  let signature: BodySignature;
  try {
    signature = scheme.begin({
      headers,
      secrets: source.secrets,
      nowSec: Math.floor(deps.clock.now() / 1000),
      toleranceSec: source.toleranceMs / 1000,
    });
  } catch (error) {
    if (error instanceof VerificationError) return { refused: reject(error.code) };
    throw error;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  return {
    delivery: {
      write: (chunk) => {
        chunks.push(chunk);
        length += chunk.length;
        signature.update(chunk);
      },
      receive: async () => {
        const now = deps.clock.now();
        try {
          signature.verify(Math.floor(now / 1000));
        } catch (error) {
          if (error instanceof VerificationError) return reject(error.code);
          throw error;
        }
        // Only a verified body is copied into one buffer.
        const rawBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
        chunks.length = 0;
        return receiveVerified(deps, source, scheme, rawBody, headers, now);
      },
    },
  };
}

/**
 * After verification, in the order of PRODUCT §1: parse, check the event's identity and the source's
 * rules (rule 4), then dedup and persist in one transaction, and answer 200 only after the commit.
 */
async function receiveVerified(deps: WebhookDeps, source: SourceSettings, scheme: SourceScheme, rawBody: Buffer, headers: Headers, now: number): Promise<WebhookAnswer> {
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

  // Rule 4: identity where the scheme reads it (signed bytes wherever the provider signs it), as short
  // printable text; then the source's own rules.
  const body = event as Record<string, unknown>;
  let eventId: string | undefined;
  let type: string;
  try {
    ({ id: eventId, type } = await readIdentity(scheme, { body, headers }));
  } catch (error) {
    if (error instanceof ReceiveError) return reject(error.code);
    throw error;
  }
  if (eventId === undefined) return reject('HL_EVENT_ID_MISSING');
  const problem = scheme.problem?.(body);
  if (problem) return reject('HL_EVENT_MALFORMED', `${receiveErrors.HL_EVENT_MALFORMED.message}: ${problem}`);

  let stored = text;
  if (scheme.prepare) {
    try {
      stored = await scheme.prepare({ event: body, raw: text, attachmentsDir: deps.attachmentsDir });
    } catch (error) {
      // A disk that cannot take the attachments is the sender's cue to retry (503); anything else
      // thrown while reading the event is about its content, which no retry will change (400).
      if (isSystemError(error)) return cannotPersist(deps, source, eventId, error);
      deps.logger.warn({ source: source.name, eventId, error: String(error) }, 'signed event cannot be prepared for storage');
      return reject('HL_EVENT_MALFORMED', `${receiveErrors.HL_EVENT_MALFORMED.message}: it cannot be prepared for storage`);
    }
  }

  try {
    const result = await deps.store.inbox.receive(
      {
        source: source.name,
        eventId,
        type,
        receivedAt: now,
        headers: safeHeaders(headers, scheme.signatureHeaders),
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
    return cannotPersist(deps, source, eventId, error);
  }
}

/** Never 2xx for an event a crash could lose: the sender retries on 503. */
function cannotPersist(deps: WebhookDeps, source: SourceSettings, eventId: string, error: unknown): WebhookAnswer {
  const message = error instanceof StoreUnavailableError ? error.message : String(error);
  deps.logger.error({ source: source.name, eventId, error: message }, 'cannot persist event');
  return reject('HL_STORE_UNAVAILABLE');
}

/** An error from the operating system (ENOSPC, EACCES, EIO ...), as opposed to one about the data. */
function isSystemError(error: unknown): boolean {
  return typeof (error as { code?: unknown } | null)?.code === 'string' && typeof (error as { syscall?: unknown }).syscall === 'string';
}

export function errorBody(code: ReceiveErrorCode, message: string = receiveErrors[code].message) {
  return { ok: false, code, error: message };
}

function reject(code: ReceiveErrorCode, message?: string): WebhookAnswer {
  return { status: receiveErrors[code].status, body: errorBody(code, message), outcome: outcomeOf(code) };
}

/** HL_SIGNATURE_MISMATCH -> signature_mismatch */
export function outcomeOf(code: ReceiveErrorCode): string {
  return code.slice(3).toLowerCase();
}
