import { createHash } from 'node:crypto';

/**
 * Values taken from event data that the store indexes — a muro conversation id, a message id, the
 * value of a recipe's `key` — may be of any length and hold any character the sender's JSON can
 * carry. Kept as they are they would break the store: PostgreSQL refuses an index row over ~2.7 kB
 * and any text holding NUL, and both drivers turn a lone surrogate into U+FFFD, so that "x\uD800y"
 * and "x\uFFFDy" would become one conversation.
 *
 * So such a value is stored as its index key: a short, printable value (the ids senders really use)
 * is its own key, readable in the database; any other becomes `~` and the SHA-256 of its exact
 * UTF-16 text (hashed as JSON, which spells NUL and lone surrogates out). A plain value never starts
 * with `~`, so distinct values always have distinct keys, and a lookup by key is exact.
 */
export const plainKeyBytes = 200;

/** A control character (NUL included) or DEL: never part of a plain key. */
const control = /[\u0000-\u001f\u007f]/;

export function indexKey(value: string): string {
  const plain =
    value.length <= plainKeyBytes && Buffer.byteLength(value) <= plainKeyBytes && !value.startsWith('~') && value.isWellFormed() && !control.test(value);
  return plain ? value : `~${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
}

/**
 * The same rule in PostgreSQL's SQL, for rewriting rows stored before index keys existed (they
 * cannot hold NUL or lone surrogates there; `to_json` escapes the rest exactly as JSON.stringify).
 */
export function indexKeySql(column: string): string {
  return `CASE WHEN left(${column}, 1) = '~' OR octet_length(${column}) > ${plainKeyBytes} OR ${column} ~ '[\\x01-\\x1f\\x7f]'
    THEN '~' || encode(sha256(convert_to(to_json(${column})::text, 'UTF8')), 'hex') ELSE ${column} END`;
}
