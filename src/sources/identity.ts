import { ReceiveError } from '../errors.ts';
import type { RequestHeaders, SourceScheme } from './types.ts';

/** The longest event id or type accepted (PRODUCT §1 rule 4): well under any index's row limit. */
export const maxIdentityLength = 256;

/** C0 and C1 control characters and DEL: a NUL, a line break or an escape has no place in a key. */
const control = /\p{Cc}/u;

/**
 * An event id or type from the signed body, as the text it is stored and shown under: a string
 * (trimmed) or a number; undefined when absent (missing, null, blank). Anything else, or a string
 * with control characters, unpaired surrogates or over 256 characters, is refused with `code`:
 * such a value would be a key that the store, the logs or an operator's screen mistreat.
 */
export function identityText(value: unknown, code: 'HL_EVENT_ID_INVALID' | 'HL_EVENT_TYPE_INVALID'): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ReceiveError(code);
    return String(value);
  }
  if (typeof value !== 'string') throw new ReceiveError(code);
  const text = value.trim();
  if (text === '') return undefined;
  if (text.length > maxIdentityLength || control.test(text) || !text.isWellFormed()) throw new ReceiveError(code);
  return text;
}

/**
 * The id and type of a verified delivery as hookline stores them: what the scheme reads (rule 4),
 * checked by `identityText`; a delivery without a type is stored as `unknown`. Throws ReceiveError.
 */
export async function readIdentity(
  scheme: Pick<SourceScheme, 'identify'>,
  input: { body: Record<string, unknown>; headers: RequestHeaders },
): Promise<{ id: string | undefined; type: string }> {
  const found = await scheme.identify(input);
  return { id: identityText(found.id, 'HL_EVENT_ID_INVALID'), type: identityText(found.type, 'HL_EVENT_TYPE_INVALID') ?? 'unknown' };
}
