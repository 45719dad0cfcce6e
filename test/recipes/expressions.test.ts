import { Agent, createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import jsonata from 'jsonata';
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

  it('$slackEscape keeps visitor text as text in Slack: &, < and > escaped, nothing else', async () => {
    expect(await render('{{ $slackEscape("<!channel> <https://x.example|Open> & *bold*") }}')).toBe('&lt;!channel&gt; &lt;https://x.example|Open&gt; &amp; *bold*');
    expect(await render('{{ $slackEscape(data.visitor.phone) ? "x" : "nothing to escape" }}')).toBe('nothing to escape');
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

describe('regexes run on RE2, in time linear in the text', () => {
  const evaluate = (source: string, data: unknown = {}) => compileExpression(source).evaluate(data, { clock });

  it('a catastrophic pattern against a crafted message answers at once (a backtracking engine took 11.7 s)', async () => {
    const started = performance.now();
    expect(await evaluate('$contains(data.text, /^(a+)+$/)', { data: { text: `${'a'.repeat(30)}!` } })).toBe(false);
    expect(await evaluate('$contains(data.text, /^(a+)+$/)', { data: { text: 'a'.repeat(30) } })).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('gives the answers of JavaScript\'s own engine: groups, positions, flags, every match', async () => {
    const same = [
      '$match("ab12cd345", /([a-z]+)(\\d+)/)',
      '$match("ab12cd345", /([a-z]+)(\\d+)/, 1)',
      '$replace("John Smith", /(\\w+)\\s(\\w+)/, "$2, $1")',
      '$replace("a-b-c", /-/, "+", 1)',
      '$split("a1b22c", /\\d+/)',
      '$contains("Hello", /^hello$/i)',
      '$contains("one\\ntwo", /^two$/)',
      '$contains("one\\ntwo", /^two$/m)',
      '$match("😀ab😀b", /b/)', // positions count UTF-16 units, as JavaScript strings do
      '$match("x", /(y)?x/)',
      '$match("word words", /\\bwords?\\b/)',
      '$match("Name: Dana", /(?<label>\\w+): (?<value>\\w+)/)',
      '$match("été", /[a-zé]+/)',
    ];
    for (const source of same) {
      const native = JSON.parse(JSON.stringify(await jsonata(source).evaluate({}))) as unknown;
      expect(await evaluate(source), source).toEqual(native);
    }
    await expect(evaluate('$replace("abc", /x*/, "-")')).rejects.toMatchObject({ code: 'D1004' });
  });

  it('a pattern RE2 cannot run (backreference, lookaround) is refused when the recipe loads, at its position', () => {
    expect(() => compileExpression('$contains(data.text, /(a)\\1/)')).toThrow(/not supported.*no backreferences, no lookahead or lookbehind/);
    expect(() => compileExpression('$contains(data.text, /a(?=b)/)')).toThrow(/not supported/);
    expect(() => compileExpression('$contains(data.text, /(?<=a)b/)')).toThrow(/not supported/);
    try {
      compileExpression('data.x and $contains(data.text, /(a)\\1/)');
    } catch (error) {
      expect((error as { position?: number }).position).toBeGreaterThan(20);
    }
  });
});

describe('evaluation lets the event loop turn', () => {
  // About a second of work, then the time limit (D1012): a $map over a big range, nested.
  const heavy = '$count($map([1..90000], function($x) { $map([1..50], function($y) { $x * $y }) }))';

  it('while an expensive expression runs, an HTTP server in the same process answers within a few ms', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    const agent = new Agent({ keepAlive: true });
    try {
      await get(url, agent); // the connection is open before the clock starts
      let settled = false;
      const running = compileExpression(heavy)
        .evaluate({}, { clock })
        .finally(() => (settled = true));
      running.catch(() => {});
      const latencies: number[] = [];
      while (!settled) {
        const t0 = performance.now();
        await get(url, agent);
        latencies.push(performance.now() - t0);
      }
      await expect(running).rejects.toMatchObject({ code: 'D1012' });
      // Blocked, the server would answer one request, after the whole evaluation. The median, not the
      // maximum: on a machine shared with other test runs the OS alone pauses the process for 100 ms.
      expect(latencies.length).toBeGreaterThan(20);
      expect(median(latencies)).toBeLessThan(20);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('the time limit counts an evaluation\'s own work, not the time it waited for others', async () => {
    // Each needs a fraction of the limit; together, taking turns, well over it in wall-clock time.
    const medium = compileExpression('$reduce([1..90000], function($a, $b) { $a + $b })');
    let t0 = performance.now();
    await medium.evaluate({}, { clock });
    const count = Math.min(40, Math.ceil(1500 / (performance.now() - t0)) + 1);
    t0 = performance.now();
    const results = await Promise.all(Array.from({ length: count }, () => medium.evaluate({}, { clock })));
    expect(performance.now() - t0).toBeGreaterThan(1000);
    expect(results).toEqual(Array(count).fill(4_050_045_000));
  });
});

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function get(url: string, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}
