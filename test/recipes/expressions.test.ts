import { describe, expect, it } from 'vitest';
import { compileExpression, compileTemplate, ExpressionError } from '../../src/recipes/expressions.ts';
import { manualClock } from '../../src/util/clock.ts';

const clock = manualClock(Date.parse('2026-11-20T09:15:00Z'));
const input = { data: { visitor: { name: 'Dana', email: 'dana@x.test' }, n: 3, list: [1, 2] } };
const render = (t: string, data: unknown = input) => compileTemplate(t).render(data, { clock, vars: { inbox: 'https://inbox' } });

describe('templates', () => {
  it('joins text parts and renders a lone {{ }} as the raw value', async () => {
    expect(await render('Hi {{ data.visitor.name }} ({{ data.n }})')).toBe('Hi Dana (3)');
    expect(await render('{{ data.list }}')).toEqual([1, 2]);
    expect(await render('{{ data.visitor }}')).toEqual({ name: 'Dana', email: 'dana@x.test' });
    expect(await render('{{ $vars.inbox }}/c')).toBe('https://inbox/c');
    expect(await render('list: {{ data.list }}')).toBe('list: [1,2]');
  });

  it('a missing field is a clear error, never the text "undefined"', async () => {
    await expect(render('VIP {{ data.visitor.phone }}')).rejects.toThrow(ExpressionError);
    await expect(render('VIP {{ data.visitor.phone }}')).rejects.toThrow(/\{\{ data\.visitor\.phone \}\} evaluated to nothing/);
    expect(await render('{{ data.visitor.phone ? data.visitor.phone : "none" }}')).toBe('none');
  });

  it('$now() and $millis() follow the injected clock', async () => {
    expect(await render('{{ $now() }}')).toBe('2026-11-20T09:15:00.000Z');
    expect(await compileExpression('$millis()').evaluate({}, { clock })).toBe(Date.parse('2026-11-20T09:15:00Z'));
  });

  it('refuses malformed templates at compile time', () => {
    expect(() => compileTemplate('{{ }}')).toThrow(/empty/);
    expect(() => compileTemplate('{{ data.x ')).toThrow(/without a closing/);
    expect(() => compileTemplate('{{ data.( }}')).toThrow();
  });
});

describe('guard rails', () => {
  it('an expression that would run away is stopped with an error instead of hanging the worker', async () => {
    const runaway = compileExpression('($f := function($n) { $f($n + 1) }; $f(0))');
    await expect(runaway.evaluate({}, { clock })).rejects.toMatchObject({ code: expect.stringMatching(/^D101[12]$/) });
  });
});
