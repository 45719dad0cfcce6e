import { writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookline } from '../../src/hookline.ts';
import { describeBackends, type FreshStore } from '../helpers/backends.ts';
import { runHookline, writeChildConfig } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';

const hookline = runHookline;

describeBackends('cli: events, show, replay, dead', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let dest: Destination;
  let db: FreshStore;
  beforeAll(async () => {
    temp = tempDir();
    dest = await startDestination();
    db = await backend.fresh(temp.dir);
    writeRecipe(temp.dir, 'forward', `on: muro/*\nsteps: [ { id: call, http: { url: "${dest.origin}/x" } } ]\n`);
    // The CLI opens the store that hookline.yaml names, whether or not a server runs.
    writeChildConfig(temp.dir, '', db.url);
    const hl = await startHookline({ config: testConfig(temp.dir, { store: { url: db.url } }), worker: false });
    dest.failNext(422);
    await postMuro(hl, { id: 'evt_cli_dead', type: 'conversation.opened', data: { visitor: { email: 'cli@x.test' } } });
    await postMuro(hl, { id: 'evt_cli_ok', type: 'message.created', data: {} });
    await hl.worker.drain();
    await hl.close();
  });
  afterAll(async () => {
    await dest.close();
    await db.drop();
    temp.cleanup();
  });

  it('events lists newest first and filters', async () => {
    const all = await hookline(['events'], temp.dir);
    expect(all.stdout.split('\n')[0]).toMatch(/^SEQ\s+RECEIVED\s+SOURCE\s+TYPE\s+ID\s+STATUS/);
    expect(all.stdout.indexOf('evt_cli_ok')).toBeLessThan(all.stdout.indexOf('evt_cli_dead'));
    const filtered = await hookline(['events', '--type', 'conversation.*'], temp.dir);
    expect(filtered.stdout).toContain('evt_cli_dead');
    expect(filtered.stdout).not.toContain('evt_cli_ok');
    expect((await hookline(['events', '-q', 'cli@x.test', '--json'], temp.dir)).stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['evt_cli_dead']);
  });

  it('show prints the event, its runs, steps, attempts and errors', async () => {
    const shown = await hookline(['show', 'evt_cli_dead'], temp.dir);
    expect(shown.stdout).toMatch(/muro conversation\.opened evt_cli_dead/);
    expect(shown.stdout).toMatch(/run r\w+\s+forward\s+dead/);
    expect(shown.stdout).toMatch(/error: recipe forward, step call: POST .* answered 422/);
    expect(shown.stdout).toMatch(/attempt 1 of call: failed \(422\)/);
    expect((await hookline(['show', 'evt_missing'], temp.dir)).code).toBe(1);
  });

  it('dead lists dead letters and --retry queues one again; replay marks an event for the recipes', async () => {
    const dead = await hookline(['dead'], temp.dir);
    const id = /^(r\w+)\s+forward/m.exec(dead.stdout)?.[1];
    expect(id).toBeDefined();
    expect(dead.stdout).toContain('evt_cli_dead');
    const retried = await hookline(['dead', '--retry', id!], temp.dir);
    expect(retried).toMatchObject({ code: 0 });
    expect(retried.stdout).toMatch(/queued again/);
    expect((await hookline(['dead', '--retry', id!], temp.dir)).stderr).toMatch(/not in dead letters/);
    expect((await hookline(['dead'], temp.dir)).stdout).toMatch(/no dead letters/);
    expect((await hookline(['replay', 'evt_cli_ok'], temp.dir)).stdout).toMatch(/replaying evt_cli_ok \(seq \d+, replay 1\)/);
    expect((await hookline(['events', '--json'], temp.dir)).stdout).toMatch(/"id":"evt_cli_ok".*"status":"received","generation":1/);
  });
});

describe('check and test with recipes', () => {
  it('check lists every recipe error as file:line:col and exits 1', async () => {
    const temp = tempDir();
    try {
      writeChildConfig(temp.dir);
      writeRecipe(temp.dir, 'good', 'on: muro/*\nsteps: [ { id: a, log: hi } ]\n');
      const bad = writeRecipe(temp.dir, 'bad', 'on: muro/*\nif: data.(\nsteps:\n  - id: a\n    slack_post: { text: x }\n');
      const result = await hookline(['check'], temp.dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/ok\s+recipe good/);
      expect(result.stderr).toContain(`${bad}:2:5: if: invalid JSONata`);
      expect(result.stderr).toContain(`${bad}:5:5: steps.0.slack_post: unknown action`);
      expect(result.stderr).toMatch(/2 errors/);
    } finally {
      temp.cleanup();
    }
  });

  it('test runs recipe test cases offline and fails on a mismatch', async () => {
    const temp = tempDir();
    try {
      writeChildConfig(temp.dir);
      const file = writeRecipe(temp.dir, 'greet', `on: muro/conversation.opened
steps:
  - id: hello
    http: { url: "https://hooks.example.test/x", body: { text: "Hello {{ data.visitor.name }}" } }
tests:
  - name: greets the visitor
    event: muro/conversation.opened
    expect: [ { http: { body: { text: "Hello Dana Whitfield" } } } ]
  - name: nothing for other events
    event: muro/visitor.identified
    expect: []
`);
      const ok = await hookline(['test'], temp.dir);
      expect(ok.stdout).toMatch(/ok\s+greet › greets the visitor/);
      expect(ok.stdout).toMatch(/2 passed, 0 failed/);
      expect(ok.code).toBe(0);

      writeFileSync(file, `on: muro/conversation.opened\nsteps:\n  - id: hello\n    http: { url: "https://hooks.example.test/x", body: { text: "Hi {{ data.visitor.name }}" } }\ntests:\n  - name: greets\n    event: muro/conversation.opened\n    expect: [ { http: { body: { text: "Hello Dana Whitfield" } } } ]\n`);
      const failing = await hookline(['test'], temp.dir);
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/FAIL\s+greet › greets/);
      expect(failing.stdout).toContain('http.body.text: expected "Hello Dana Whitfield", got "Hi Dana Whitfield"');
    } finally {
      temp.cleanup();
    }
  });
});

