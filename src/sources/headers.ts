import type { RequestHeaders } from './types.ts';

/**
 * One header's value, trimmed; undefined when absent or blank. Node lower-cases names; other
 * callers (tests, express) may not, so a case-insensitive scan is the fallback. A header sent
 * twice arrives as an array and is joined the way Node joins repeated headers.
 */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  let value = headers[lower];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : headers[key];
  }
  const text = Array.isArray(value) ? value.join(', ') : value;
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

/** An id or type read from a body or a header: a non-blank string (numbers become strings), else undefined. */
export function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A top-level field of a JSON body, when the body is an object. */
export function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}
