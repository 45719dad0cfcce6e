import { NonRetryableError, RetryableError } from '../errors.ts';

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The retry policy of PRODUCT §3 for an HTTP answer: 5xx and 429 are retried (429 after Retry-After),
 * other 4xx are not; 401/403 name the connection so the operator checks its credential.
 */
export function errorForStatus(status: number, what: string, detail: string, options: { retryAfterMs?: number | undefined; connection?: string } = {}): Error {
  const message = `${what} answered ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 429 || status >= 500) return new RetryableError(message, { status, ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }) });
  if ((status === 401 || status === 403) && options.connection) {
    return new NonRetryableError(`${message} — check the credential of connections.${options.connection}`, { status });
  }
  return new NonRetryableError(message, { status });
}

/** Network failures and timeouts are worth retrying. */
export function networkError(what: string, error: unknown): RetryableError {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
  return new RetryableError(`${what} failed: ${reason}`, { cause: error });
}

/** At most `max` characters of a body for the attempt log. */
export function truncate(text: string, max = 4096): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
