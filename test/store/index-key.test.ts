import { describe, expect, it } from 'vitest';
import { indexKey, plainKeyBytes } from '../../src/store/index-key.ts';

describe('indexKey', () => {
  const hashed = /^~[0-9a-f]{64}$/;

  it('keeps the short printable ids senders use as they are', () => {
    for (const id of ['conv_8f2k', '2f1c6a3e-1b7d-4c1a-9d3e-0b5f2a7c9e10', 'dana@bigcustomer.example', 'ünïcödé ✓ 💬', '', 'a'.repeat(plainKeyBytes), 'x~y']) {
      expect(indexKey(id)).toBe(id);
    }
  });

  it('hashes long values, control characters, lone surrogates and a leading ~', () => {
    for (const id of ['a'.repeat(plainKeyBytes + 1), 'é'.repeat(plainKeyBytes / 2 + 1), 'x\u0000y', 'x\ny', 'x\u007fy', 'x\uD800y', '\uDC00', '~abc', 'm'.repeat(1 << 20)]) {
      expect(indexKey(id)).toMatch(hashed);
    }
  });

  it('gives distinct values distinct keys, and the same value always the same key', () => {
    const values = ['x\u0000y', 'x\uFFFDy', 'x\uD800y', 'x\uDBFFy', `${'c'.repeat(9_999)}c`, `${'c'.repeat(9_999)}d`, '~abc', 'abc', '\\u0000'];
    const keys = values.map(indexKey);
    expect(new Set(keys).size).toBe(values.length);
    expect(values.map(indexKey)).toEqual(keys);
    // A hashed key, sent as a value, is hashed again: it cannot stand for the value it was made from.
    expect(indexKey(keys[0]!)).not.toBe(keys[0]);
  });
});
