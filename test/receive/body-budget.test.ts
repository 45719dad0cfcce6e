import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../src/receive/body-budget.ts';

describe('BodyBudget', () => {
  it('admits a declared length that fits, refuses one that does not, and gets it back once released', () => {
    const budget = new BodyBudget(1000);
    const a = budget.admit({ 'content-length': '600' }, 1000);
    expect(a).not.toBe('full');
    expect(budget.admit({ 'content-length': '600' }, 1000)).toBe('full');
    expect(budget.used).toBe(600);
    if (typeof a === 'object') {
      a.release();
      a.release(); // twice: given back once
    }
    expect(budget.used).toBe(0);
    expect(budget.admit({ 'content-length': '1000' }, 1000)).not.toBe('full');
  });

  it('reserves nothing for a request without a body, or with one over the limit (refused unread)', () => {
    const budget = new BodyBudget(1000);
    expect(budget.admit({}, 1000)).toBeUndefined();
    expect(budget.admit({ 'content-length': '0' }, 1000)).toBeUndefined();
    expect(budget.admit({ 'content-length': '5000' }, 1000)).toBeUndefined();
    expect(budget.used).toBe(0);
  });

  it('grows a chunked body as it arrives, up to the budget', () => {
    const budget = new BodyBudget(1000);
    const chunked = budget.admit({ 'transfer-encoding': 'chunked' }, 1000);
    if (typeof chunked !== 'object') throw new Error('a chunked body is admitted empty');
    expect(chunked.grow(700)).toBe(true);
    expect(chunked.grow(400)).toBe(false);
    expect(budget.used).toBe(700);
    chunked.release();
    expect(chunked.grow(1)).toBe(false); // released: it takes nothing more
    expect(budget.used).toBe(0);
  });
});
