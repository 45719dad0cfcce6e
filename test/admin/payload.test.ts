import { describe, expect, it } from 'vitest';
import { cutAtDepth, shownPayload } from '../../src/admin/payload.ts';

describe('a stored body as operators see it', () => {
  it('keeps a payload within the depth whole, brackets and escaped quotes in strings included', () => {
    const body = JSON.stringify({ a: [1, { b: 'x]}{["\\\\' }], c: 'say "}"' });
    expect(cutAtDepth(body, 3)).toEqual({ text: body, cut: false });
    expect(shownPayload(body, 3)).toEqual({ payload: JSON.parse(body) });
  });

  it('replaces what starts deeper than the depth by a note, objects and arrays alike', () => {
    const body = JSON.stringify({ a: [1, { b: { c: 1 } }, [[2]]], d: 'after' });
    expect(shownPayload(body, 2)).toEqual({
      payload: { a: [1, '… (nested deeper than 2 levels)', '… (nested deeper than 2 levels)'], d: 'after' },
      note: 'nested deeper than 2 levels: deeper values are replaced by a note; the raw body is shown as text',
    });
  });

  it('cuts 1 000 000 levels in one pass, and shows what is not JSON as text', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const started = performance.now();
    const shown = shownPayload(deep);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(JSON.stringify(shown.payload)).toMatch(/^\[{32}"… \(nested deeper than 32 levels\)"\]{32}$/);
    expect(shownPayload('not { json')).toEqual({ payload: 'not { json', note: 'not JSON: shown as text' });
  });
});
