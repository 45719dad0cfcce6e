/**
 * Values from a query string or a path, as the admin API and the console take them. Anyone who can
 * reach those endpoints can send anything: a repeated name (an array), `constructor`, NUL (which
 * PostgreSQL refuses in text), numbers past every range. What cannot be meant is ignored here, before
 * it reaches a lookup or the store, so that no value makes a 500.
 */

/** One value: the first if repeated, without control characters, trimmed, bounded; undefined if empty. */
export function queryText(value: unknown, max = 300): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  const text = first.replace(/\p{Cc}/gu, '').trim().slice(0, max);
  return text === '' ? undefined : text;
}

/** A whole number from 0 up to Number.MAX_SAFE_INTEGER (what a seq or a limit can be), else undefined. */
export function queryInt(value: unknown): number | undefined {
  const text = queryText(value, 20);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether a route's path parameters hold NUL: no stored id does, and PostgreSQL refuses to look one up. */
export function noStoredId(params: unknown): boolean {
  return typeof params === 'object' && params !== null && Object.values(params).some((v) => typeof v === 'string' && v.includes('\0'));
}
