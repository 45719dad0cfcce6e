/**
 * A stored body as operators see it (admin API, console, CLI). Bodies are stored as received, and
 * a signed event may nest 100 000 levels deep: JSON.stringify (a recursive walk) then overflows the
 * stack, and parsing 25 MB of brackets takes seconds. So the text is first cut at a depth, in one
 * pass over the characters, and only then parsed; the raw body is still there to be shown as text.
 */

/** Real webhooks nest a dozen levels; past this a payload is shown cut, with the raw body beside it. */
export const maxShownDepth = 32;

export interface ShownPayload {
  /** The parsed body, with values nested deeper than `maxShownDepth` replaced by a note. */
  payload: unknown;
  /** Why the payload is not the whole body (cut, or not JSON); absent when it is. */
  note?: string;
}

export function shownPayload(body: string, depth = maxShownDepth): ShownPayload {
  const cut = cutAtDepth(body, depth);
  try {
    const payload = JSON.parse(cut.text) as unknown;
    return cut.cut ? { payload, note: `nested deeper than ${depth} levels: deeper values are replaced by a note; the raw body is shown as text` } : { payload };
  } catch {
    return { payload: body, note: 'not JSON: shown as text' };
  }
}

/**
 * JSON text with every object or array that starts deeper than `depth` replaced by a string saying
 * so. Linear in the text; strings (and brackets inside them) are copied as they are.
 */
export function cutAtDepth(text: string, depth: number): { text: string; cut: boolean } {
  const placeholder = JSON.stringify(`… (nested deeper than ${depth} levels)`);
  const parts: string[] = [];
  let level = 0;
  let copiedTo = 0;
  let cut = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (level < depth) {
        level++;
        continue;
      }
      parts.push(text.slice(copiedTo, i), placeholder);
      i = endOfValue(text, i);
      copiedTo = i + 1;
      cut = true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      level--;
    }
  }
  if (!cut) return { text, cut };
  parts.push(text.slice(copiedTo));
  return { text: parts.join(''), cut };
}

/** Index of the closing quote of the string that opens at `start`. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i;
  }
  return text.length;
}

/** Index of the bracket that closes the object or array opening at `start`. */
function endOfValue(text: string, start: number): number {
  let level = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = endOfString(text, i);
    else if (c === 0x7b || c === 0x5b) level++;
    else if ((c === 0x7d || c === 0x5d) && --level === 0) return i;
  }
  return text.length;
}
