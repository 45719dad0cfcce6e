import type { Readable } from 'node:stream';
import { ReceiveError } from '../errors.ts';
import type { Reservation } from './body-budget.ts';

/** Bytes of one body handled before letting other work run. */
export const yieldEvery = 64 * 1024;

export interface ReadBodyOptions {
  /** The declared length (Content-Length), already reserved; undefined for a chunked body. */
  declared: number | undefined;
  /** The largest body accepted (HL_BODY_TOO_LARGE). */
  limit: number;
  /** Where a chunked body's bytes are reserved as they arrive (HL_BODY_BUDGET_EXHAUSTED). */
  reservation: Reservation;
  /** The whole body must have arrived within this many ms (HL_BODY_TIMEOUT). */
  timeoutMs: number;
  /** Each chunk, as it arrives. */
  onChunk(chunk: Buffer): void;
}

/**
 * Reads a request body under rule 0 of PRODUCT §1, handing each chunk to `onChunk` as it arrives;
 * resolves at its end. Fails with a ReceiveError when the body is over the limit (at once when its
 * declared length says so), does not fit in the budget (chunked), or is not complete within the
 * read timeout; the stream is then left unread, and the adapter answers and closes the connection.
 * A large body arriving fast is handled a slice per turn of the event loop, so that small webhooks
 * are not queued behind megabytes of reading and hashing. Framework-free: for every HTTP adapter.
 */
export function readBody(stream: Readable, options: ReadBodyOptions): Promise<void> {
  const { declared, limit, reservation, onChunk } = options;
  if (declared !== undefined && declared > limit) return Promise.reject(new ReceiveError('HL_BODY_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    let received = 0;
    let sinceYield = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', finish);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return finish(new ReceiveError('HL_BODY_TOO_LARGE'));
      if (declared === undefined && !reservation.grow(chunk.length)) return finish(new ReceiveError('HL_BODY_BUDGET_EXHAUSTED'));
      onChunk(chunk);
      sinceYield += chunk.length;
      if (sinceYield >= yieldEvery) {
        sinceYield = 0;
        stream.pause();
        setImmediate(() => stream.resume());
      }
    };
    const onEnd = () => finish();
    // The client went away before the end: there is no one left to answer.
    const onClose = () => finish(new ReceiveError('HL_BAD_REQUEST', 'the connection closed before the body was complete'));
    const timer = setTimeout(
      () => finish(new ReceiveError('HL_BODY_TIMEOUT', `body did not arrive within server.read_timeout (${options.timeoutMs} ms)`)),
      options.timeoutMs,
    );
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', finish);
    stream.once('close', onClose);
  });
}
