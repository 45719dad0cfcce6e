import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookline } from '../../src/hookline.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { runHookline, writeChildConfig } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';

const hookline = runHookline;

describeBackends('cli: replay and dead --retry-all by filter, replay --dry-run', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let dest: Destination;
  let db: FreshStore;
  beforeAll(async () => {
    temp = tempDir();
    dest = await startDestination();
    db = await backend.fresh(temp.dir);
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x", body: { who: "{{ data.who }}" } } } ]\n`);
    writeChildConfig(temp.dir, '', db.url);
    const hl = await startHookline({ config: testConfig(temp.dir, { store: { url: db.url } }), worker: false });
    dest.failNext(422);
    await postMuro(hl, { id: 'evt_b1', type: 'conversation.opened', data: { who: 'one' } });
    await postMuro(hl, { id: 'evt_b2', type: 'message.created', data: { who: 'two' } });
    await hl.worker.drain();
    await hl.close();
  });
  afterAll(async () => {
    await dest.close();
    await db.drop();
    temp.cleanup();
  });

  it('replay --dry-run prints per event the recipes and what each step would send, and sends nothing', async () => {
    const before = dest.requests.length;
    const result = await hookline(['replay', '--since', '1h', '--source', 'muro', '--dry-run'], temp.dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/muro\/conversation\.opened evt_b1/);
    expect(result.stdout).toMatch(/forward \(version [0-9a-f]{12}\)\n\s+call http: would send\n\s+.*"who":"one"/);
    expect(result.stderr).toMatch(/dry run: 2 events, 2 runs would start; nothing was stored or sent/);
    expect(dest.requests.length).toBe(before);
    const one = JSON.parse((await hookline(['replay', 'evt_b2', '--dry-run', '--json'], temp.dir)).stdout);
    expect(one).toMatchObject({ id: 'evt_b2', recipes: [{ recipe: 'forward', steps: [{ id: 'call', outcome: 'would_send' }] }] });
  });

  it('replay by filter, then again: the second is skipped and says how to include them', async () => {
    const first = await hookline(['replay', '--type', 'conversation.*', '--since', '1h'], temp.dir);
    expect(first.stdout).toMatch(/^1 matched: 1 replayed {2}\[operation b\w+\]/);
    const second = await hookline(['replay', '--type', 'conversation.*', '--since', '1h'], temp.dir);
    expect(second.stdout).toMatch(/1 matched: 0 replayed; 1 skipped: already replayed by an earlier bulk operation \(use --again/);
    // --again includes it; no worker has dispatched the first replay yet, so it is left as pending.
    const again = JSON.parse((await hookline(['replay', '--type', 'conversation.*', '--again', '--json'], temp.dir)).stdout);
    expect(again).toMatchObject({ matched: 1, skipped_already: 0, items: [{ id: 'evt_b1', outcome: 'pending' }] });
    expect((await hookline(['replay'], temp.dir))).toMatchObject({ code: 2 });
    expect((await hookline(['replay', 'evt_b1', '--since', '1h'], temp.dir)).stderr).toMatch(/an event id or filters, not both/);
    expect((await hookline(['replay', '--since', 'soon'], temp.dir)).stderr).toMatch(/since: "soon" is neither/);
  });

  it('dead --retry-all with filters retries only what they select', async () => {
    expect((await hookline(['dead', '--retry-all', '--recipe', 'other'], temp.dir)).stdout).toMatch(/^0 matched/);
    const retried = await hookline(['dead', '--retry-all', '--recipe', 'forward', '--since', '1h'], temp.dir);
    expect(retried.stdout).toMatch(/^1 matched: 1 retried/);
    expect((await hookline(['dead', '--since', '1h'], temp.dir)).stderr).toMatch(/go with --retry-all/);
  });
});
