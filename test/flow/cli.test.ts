// `hookline pause|resume <recipe>` and `hookline flow` as an operator runs them: a child process on
// the store of a running server, which holds the recipe's runs and runs them after the resume.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { runHookline, writeChildConfig } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';

const hookline = runHookline;

describeBackends('cli: pause, resume, flow', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let dest: Destination;
  let db: FreshStore;
  let hl: Hookline;
  beforeAll(async () => {
    temp = tempDir();
    dest = await startDestination();
    db = await backend.fresh(temp.dir);
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x", body: { n: "{{ data.n }}" } } } ]\n`);
    writeChildConfig(temp.dir, '', db.url);
    hl = await startHookline({ config: testConfig(temp.dir, { store: { url: db.url }, worker: { poll: 100, concurrency: 1 } } as never) });
  });
  afterAll(async () => {
    await hl.close();
    await dest.close();
    await db.drop();
    temp.cleanup();
  });

  it('pause holds the runs of a running server; flow lists them; resume runs them in order; unknown recipes exit 1', async () => {
    const paused = await hookline(['pause', 'forward'], temp.dir);
    expect(paused).toMatchObject({ code: 0, stdout: 'forward: paused: its runs are created and held until it is resumed\n' });
    expect((await hookline(['pause', 'forward'], temp.dir)).stdout).toBe('forward: was paused already\n');
    for (let n = 0; n < 3; n++) await postMuro(hl, { id: `evt_cli_pause_${n}`, type: 'message.created', data: { n } });
    await expect.poll(async () => (await hl.store.flow.paused())[0]?.held, { timeout: 5000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(dest.requests).toHaveLength(0);

    const flow = await hookline(['flow', '--json'], temp.dir);
    expect(JSON.parse(flow.stdout)).toEqual({ paused: [{ recipe: 'forward', paused_at: expect.any(String), held_runs: 3 }], circuits: [], held: {} });
    expect((await hookline(['flow'], temp.dir)).stdout).toMatch(/PAUSED RECIPE +SINCE +HELD RUNS\nforward +\S+ \S+ +3\n/);

    expect(await hookline(['resume', 'forward'], temp.dir)).toMatchObject({ code: 0, stdout: 'forward: resumed: its held runs run now, in their order\n' });
    await dest.waitFor(3, 5000);
    expect(dest.requests.map((r) => (r.body as { n: number }).n)).toEqual([0, 1, 2]);

    const unknown = await hookline(['pause', 'nope'], temp.dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nope: no recipe of that name is loaded');
    expect((await hookline(['resume', 'forward'], temp.dir)).stdout).toBe('forward: was not paused\n');
  });
});
