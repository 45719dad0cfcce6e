import { InputError } from './errors.ts';

/** What `forget` accepts: one plausible address (RFC 5321 caps a path at 254 characters). */
const plausible = /^[^\s@<>"(),;:\\[\]]+@[^\s@<>"(),;:\\[\]]+\.[^\s@<>"(),;:\\[\]]+$/u;

/** The address to erase, lower-cased (addresses are compared case-insensitively), or an InputError saying why not. */
export function checkAddress(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new InputError('expected an email address, e.g. --email dana@example.com');
  const address = raw.trim().toLowerCase();
  if (address.length > 254 || !plausible.test(address)) throw new InputError(`"${raw.slice(0, 300)}" is not an email address (expected name@domain)`);
  return address;
}

/**
 * A regular expression (the same text works in JavaScript and in PostgreSQL's ARE, both
 * case-insensitive) that finds the address in text, but not inside a longer address:
 * "dana@x.example" is not found in "edana@x.example" nor in "dana@x.example.org",
 * and is found before a full stop that ends a sentence.
 */
export function mentionPattern(address: string): string {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `(?<![a-z0-9._%+-])${escaped}(?![a-z0-9_%+-]|\\.[a-z0-9])`;
}

const compiled = new Map<string, RegExp>();

/** Whether `text` mentions the address of `pattern` (from mentionPattern). */
export function mentions(text: string, pattern: string): boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    if (compiled.size > 100) compiled.clear();
    regex = new RegExp(pattern, 'i');
    compiled.set(pattern, regex);
  }
  return regex.test(text);
}

/** SHA-256 of the saved attachments an event body describes (see domain/attachments.ts). */
export function attachmentHashes(body: string): string[] {
  return [...body.matchAll(/"sha256":"([0-9a-f]{64})"/g)].map((m) => m[1]!);
}
