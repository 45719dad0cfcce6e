import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.ts';
import { message, postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startTestHookline, type TestHookline } from '../helpers/server.ts';

// A recipe's expression runs in the process that acknowledges webhooks: whatever event data it meets,
// it must not hold acknowledgements up.
describe('expressions on event data do not hold up acknowledgements', () => {
  let hl: TestHookline | undefined;
  afterEach(async () => {
    await hl?.stop();
    hl = undefined;
  });

  it('a catastrophic regex against a crafted message: a signed webhook sent during dispatch is acknowledged at once', async () => {
    const temp = tempDir();
    writeRecipe(
      temp.dir,
      'only-a',
      `name: only-a
on: muro/message.created
if: $contains(data.message.text, /^(a+)+$/)
steps:
  - id: note
    log: { message: "only a: {{ data.message.text }}" }
`,
    );
    hl = await startTestHookline({ dir: temp.dir, worker: false });
    await postMuro(hl, message('conv_redos', 'visitor', `${'a'.repeat(30)}!`));
    await postMuro(hl, message('conv_match', 'visitor', 'aaaa'));

    // Dispatch evaluates the regex on both events; a backtracking engine spent 11.7 s on the first.
    const dispatching = hl.worker.drain();
    const t0 = performance.now();
    await postMuro(hl, message('conv_during', 'visitor', 'hello'));
    const ackMs = performance.now() - t0;
    await dispatching;

    // A few ms when the machine is idle; the bound leaves room for a machine shared with other tests.
    expect(ackMs).toBeLessThan(1000);
    const runs = await hl.store.read.runs({ recipe: 'only-a', limit: 10 });
    expect(runs.map((r) => r.status)).toEqual(['done']);
  });
});
