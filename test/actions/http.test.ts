import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/util/clock.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startTestHookline, type TestHookline } from '../helpers/server.ts';

describe('http action: headers rendered from templates', () => {
  const clock = manualClock(Date.parse('2026-11-20T09:00:00Z'));
  let hl: TestHookline | undefined;
  let dest: Destination;
  beforeEach(async () => {
    dest = await startDestination();
  });
  afterEach(async () => {
    await hl?.stop();
    hl = undefined;
    await dest.close();
  });

  async function start(headers: string) {
    const temp = tempDir();
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps:\n  - id: call\n    http: { url: "${dest.origin}/in", headers: ${headers}, body: { id: "{{ id }}" } }\n`);
    hl = await startTestHookline({ dir: temp.dir, clock, worker: false, overrides: { retry: { schedule: [30_000], jitter: 0 } } as never });
  }

  it('a value with CR/LF cannot be sent and never will: the run is dead at once, naming recipe, step and header, not retried as a network error', async () => {
    await start('{ x-visitor: "{{ data.name }}" }');
    await postMuro(hl!, { id: 'evt_crlf', type: 'x', data: { name: 'Dana\r\nX-Injected: yes' } }, clock.now());
    await hl!.worker.drain();
    const [run] = await hl!.store.read.runs({ recipe: 'forward', limit: 10 });
    expect(run).toMatchObject({ status: 'dead' });
    expect(run!.error).toMatch(/^recipe forward, step call: header "x-visitor" contains a line break \(CR or LF\)/);
    // The message names the header, not its value (which may carry anything).
    expect(run!.error).not.toContain('Injected');
    const detail = await hl!.store.read.run(run!.id);
    expect(detail!.attempts).toMatchObject([{ outcome: 'failed' }]);
    expect(dest.requests).toHaveLength(0);
  });

  it('other characters HTTP does not allow in a header (NUL, beyond Latin-1) are refused the same way; tabs and accents pass', async () => {
    await start('{ x-a: "{{ data.a }}", x-b: "{{ data.b }}" }');
    await postMuro(hl!, { id: 'evt_nul', type: 'x', data: { a: 'ok', b: 'a\u0000b' } }, clock.now());
    await postMuro(hl!, { id: 'evt_emoji', type: 'x', data: { a: 'ok', b: 'hi 😀' } }, clock.now());
    await postMuro(hl!, { id: 'evt_fine', type: 'x', data: { a: 'Zoë\tM', b: 'plain' } }, clock.now());
    await hl!.worker.drain();
    const runs = await hl!.store.read.runs({ recipe: 'forward', limit: 10 });
    const byEvent: Record<string, unknown> = {};
    for (const id of ['evt_nul', 'evt_emoji', 'evt_fine']) {
      const [event] = await hl!.store.read.receipts(id);
      byEvent[id] = runs.find((r) => r.eventSeq === event!.seq);
    }
    expect(byEvent.evt_nul).toMatchObject({ status: 'dead', error: expect.stringMatching(/header "x-b" has a character HTTP does not allow/) });
    expect(byEvent.evt_emoji).toMatchObject({ status: 'dead', error: expect.stringMatching(/header "x-b" has a character HTTP does not allow/) });
    expect(byEvent.evt_fine).toMatchObject({ status: 'done' });
    expect(dest.requests).toHaveLength(1);
  });

  it('an event id with characters a header cannot carry still gets a stable idempotency key', async () => {
    await start('{}');
    await postMuro(hl!, { id: 'evt_ünï_😀', type: 'x', data: {} }, clock.now());
    await hl!.worker.drain();
    const [run] = await hl!.store.read.runs({ recipe: 'forward', limit: 10 });
    expect(run).toMatchObject({ status: 'done' });
    expect(dest.requests[0]!.headers['idempotency-key']).toBe('muro:evt_%C3%BCn%C3%AF_%F0%9F%98%80:forward:call');
  });
});
