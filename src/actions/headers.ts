import { NonRetryableError } from '../errors.ts';

/**
 * Checks headers before they are sent. A value rendered from event data may carry a line break
 * (a header injection attempt, or just a multi-line field) or a character HTTP cannot carry; fetch
 * would refuse it with a TypeError that looks like a network failure and is retried for hours
 * although it can never succeed. Here it is a NonRetryableError naming the header, not its value.
 */
export function checkHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!token.test(name)) throw new NonRetryableError(`header name ${JSON.stringify(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
    if (/[\r\n]/.test(value)) {
      throw new NonRetryableError(`header "${name}" contains a line break (CR or LF), which HTTP does not allow: render it on one line, e.g. {{ $replace(x, /[\\r\\n]+/, " ") }}`);
    }
    if (!fieldValue.test(value)) {
      throw new NonRetryableError(`header "${name}" has a character HTTP does not allow in a header (a control character, or one beyond Latin-1 such as an emoji): encode it, e.g. {{ $encodeUrlComponent(x) }}`);
    }
  }
}

/** RFC 9110 token: what a header name may be. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What fetch accepts in a value: tab, visible ASCII, space and Latin-1 (obs-text), nothing else. */
const fieldValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A value any header can carry, kept as it is when it can: characters outside printable ASCII percent-encoded. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}
