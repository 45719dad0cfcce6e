import { Transform, type Readable } from 'node:stream';
import { ReceiveError } from '../errors.ts';
import type { Reservation } from './body-budget.ts';

export interface GuardOptions {
  /** Where the body's bytes are reserved; the caller has reserved a declared length already. */
  reservation: Reservation;
  /** True when the body's length was not declared (chunked): each chunk is reserved as it arrives. */
  chunked: boolean;
  /** The whole body must have arrived within this many ms. */
  timeoutMs: number;
}

/**
 * Rule 0 for bodies read by someone else's parser (fastify's JSON and form parsers: the admin API,
 * the console); webhook bodies are read by readBody, which does the same without a stream in between.
 * The body of a request as a stream that fails with HL_BODY_TIMEOUT when the body is not complete
 * within the read timeout, and with HL_BODY_BUDGET_EXHAUSTED when a chunked body outgrows the budget.
 * The request's own stream is left unread when that happens: the adapter answers and closes the
 * connection, and no more of the body is read. The adapter destroys the returned stream once the
 * request is answered. Framework-free, so that every HTTP adapter can use it.
 */
export function guardBody(raw: Readable, options: GuardOptions): Readable {
  const { reservation, chunked } = options;
  const guarded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (chunked && !reservation.grow(chunk.length)) done(new ReceiveError('HL_BODY_BUDGET_EXHAUSTED'));
      else done(null, chunk);
    },
  });
  const timer = setTimeout(() => {
    raw.unpipe(guarded);
    guarded.destroy(new ReceiveError('HL_BODY_TIMEOUT', `body did not arrive within server.read_timeout (${options.timeoutMs} ms)`));
  }, options.timeoutMs);
  const settle = () => clearTimeout(timer);
  // Read whole, failed, or destroyed by the adapter once the request is answered.
  guarded.once('close', settle);
  guarded.once('error', () => raw.unpipe(guarded));
  // The client went away: nothing to answer, and nothing to time out.
  raw.once('close', settle);
  raw.pipe(guarded);
  return guarded;
}
