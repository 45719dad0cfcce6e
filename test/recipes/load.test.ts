import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actionRegistry } from '../../src/actions/registry.ts';
import { formatDiagnostic } from '../../src/errors.ts';
import { compileRecipe } from '../../src/recipes/compile.ts';
import { loadRecipes } from '../../src/recipes/load.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { postMuro, writeRecipe } from '../helpers/recipes.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';

const actions = actionRegistry();
const errorsOf = (text: string) => compileRecipe('r.yaml', text, actions).diagnostics.map(formatDiagnostic);

describe('validation names file, line and column, and refuses the recipe as a whole', () => {
  it('accepts a valid recipe and compiles its expressions once', () => {
    const { recipe, diagnostics } = compileRecipe('vip.yaml', `name: vip
on: [muro/message.created, muro/conversation.*]
if: data.message.author.type = "visitor"
key: data.conversation.id
steps:
  - id: reply
    wait_for: { event: muro/message.created, match: data.message.author.type = "agent", timeout: "{{ $vars.t }}" }
  - id: tell
    http: { url: "https://example.test/{{ data.conversation.id }}", method: PUT }
`, actions);
    expect(diagnostics).toEqual([]);
    expect(recipe!.name).toBe('vip');
    expect(recipe!.on.map((m) => m.matches('muro', 'conversation.closed'))).toEqual([false, true]);
    expect(recipe!.steps.map((s) => s.kind)).toEqual(['wait', 'action']);
  });

  it('reports YAML syntax errors', () => {
    expect(errorsOf('name: x\non: [muro/a\n')[0]).toMatch(/^r\.yaml:\d+:\d+: YAML syntax/);
  });

  it('reports unknown keys, missing steps and bad patterns', () => {
    expect(errorsOf('on: muro/a\nstep: []\n')).toEqual([
      expect.stringMatching(/^r\.yaml:1:1: steps: missing required key/),
      expect.stringMatching(/^r\.yaml:2:1: unknown key "step"/),
    ]);
    expect(errorsOf('on: github push\nsteps: [ { id: a, log: x } ]\n')[0]).toMatch(/^r\.yaml:1:5: on: .*source\/type/);
  });

  it('reports unknown actions, several actions in one step, and missing actions', () => {
    const text = 'on: muro/a\nsteps:\n  - id: a\n    slak: { text: x }\n  - id: b\n    log: x\n    http: { url: "https://x.test" }\n  - id: c\n';
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^r\.yaml:4:5: steps\.0\.slak: unknown action "slak"; expected one of wait_for, slack, hubspot\.upsert_contact, .*, http$/),
      expect.stringMatching(/^r\.yaml:7:5: steps\.1\.http: one action per step, found log and http/),
      expect.stringMatching(/^r\.yaml:8:5: steps\.2: step has no action/),
    ]);
  });

  it('reports JSONata that does not compile, at the expression', () => {
    const text = 'on: muro/a\nif: data.x = = 1\nsteps:\n  - id: a\n    if: "$steps.("\n    log: "hi {{ data.( }}"\n';
    const errors = errorsOf(text);
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:2:5: if: invalid JSONata: .* at character \d+/));
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:5:9: steps\.0\.if: invalid JSONata/));
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:6:10: steps\.0\.log: invalid template/));
  });

  it("validates each action's arguments at load, templates excepted", () => {
    const text = 'on: muro/a\nsteps:\n  - id: a\n    http: { url: "not a url", method: FETCH }\n  - id: b\n    http: { url: "{{ data.url }}", method: "{{ data.m }}" }\n  - id: a\n    store: { table: "Bad-Name", row: {} }\n';
    const errors = errorsOf(text);
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:4:\d+: steps\.0\.http\.url: expected an absolute URL/));
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:4:\d+: steps\.0\.http\.method: Invalid option: expected one of "GET"/));
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:8:\d+: steps\.2\.store\.table: expected a table name/));
    expect(errors).toContainEqual(expect.stringMatching(/^r\.yaml:7:9: steps\.2\.id: step id "a" is used twice/));
    expect(errors.some((e) => e.includes('steps.1'))).toBe(false);
  });

  it('refuses a second recipe with the same name', () => {
    const temp = tempDir();
    try {
      writeRecipe(temp.dir, 'a', 'name: same\non: muro/a\nsteps: [ { id: a, log: x } ]\n');
      writeRecipe(temp.dir, 'b', 'name: same\non: muro/b\nsteps: [ { id: a, log: x } ]\n');
      const set = loadRecipes(join(temp.dir, 'recipes'), actions);
      expect([...set.recipes.keys()]).toEqual(['same']);
      expect(set.diagnostics.map(formatDiagnostic)).toEqual([expect.stringMatching(/b\.yaml:1:1: recipe name "same" is already used by .*a\.yaml/)]);
    } finally {
      temp.cleanup();
    }
  });
});

describe('two files with the same recipe name', () => {
  const recipe = (name: string, note: string) => `name: ${name}\non: muro/a\nsteps: [ { id: a, log: ${note} } ]\n`;

  it('a newcomer that takes a running recipe\'s name is refused, naming both files; the running recipe keeps running', () => {
    const temp = tempDir();
    try {
      const good = writeRecipe(temp.dir, 'vip', recipe('vip', 'good'));
      const dir = join(temp.dir, 'recipes');
      const running = loadRecipes(dir, actions);
      expect(running.recipes.get('vip')!.file).toBe(good);

      // Sorts before the good file, so a plain first-come rule would hand it the name.
      const dup = writeRecipe(temp.dir, 'aaa-dup', recipe('vip', 'hijack'));
      const next = loadRecipes(dir, actions, running);
      expect(next.recipes.get('vip')!.file).toBe(good);
      expect(next.refused).toEqual([dup]);
      expect(next.diagnostics.map(formatDiagnostic)).toEqual([
        `${dup}:1:1: recipe name "vip" is already used by ${good}, which keeps it; rename one of them (name: in either file)`,
      ]);

      // It stays refused on every later reload while the good file holds the name ...
      expect(loadRecipes(dir, actions, next).recipes.get('vip')!.file).toBe(good);
      // ... and the newcomer's previous version, under another name, keeps running.
      writeFileSync(dup, recipe('other', 'fine'));
      const renamed = loadRecipes(dir, actions, next);
      expect([...renamed.recipes.keys()].sort()).toEqual(['other', 'vip']);
      writeFileSync(dup, recipe('vip', 'hijack again'));
      const again = loadRecipes(dir, actions, renamed);
      expect(again.recipes.get('vip')!.file).toBe(good);
      expect(again.recipes.get('other')!.file).toBe(dup);
      expect(again.refused).toEqual([dup]);
    } finally {
      temp.cleanup();
    }
  });

  it('at startup the file named after the recipe keeps the name, else the file that sorts first', () => {
    const temp = tempDir();
    try {
      const dir = join(temp.dir, 'recipes');
      const dup = writeRecipe(temp.dir, 'aaa-dup', recipe('vip', 'hijack'));
      const own = writeRecipe(temp.dir, 'vip', recipe('vip', 'good'));
      const set = loadRecipes(dir, actions);
      expect(set.recipes.get('vip')!.file).toBe(own);
      expect(set.diagnostics.map(formatDiagnostic)).toEqual([expect.stringContaining(`${dup}:1:1: recipe name "vip" is already used by ${own}`)]);

      const first = writeRecipe(temp.dir, 'b-first', recipe('shared', 'one'));
      const second = writeRecipe(temp.dir, 'c-second', recipe('shared', 'two'));
      const both = loadRecipes(dir, actions);
      expect(both.recipes.get('shared')!.file).toBe(first);
      expect(both.refused.sort()).toEqual([dup, second].sort());
    } finally {
      temp.cleanup();
    }
  });
});

describe('hot reload', () => {
  let hl: Hookline | undefined;
  let dest: Destination | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await hl?.close();
    await dest?.close();
    cleanup?.();
  });

  it('applies changed, added and removed files; a broken change keeps the old version running', async () => {
    dest = await startDestination();
    const temp = tempDir();
    cleanup = temp.cleanup;
    const file = writeRecipe(temp.dir, 'hook', `on: muro/*\nsteps: [ { id: a, http: { url: "${dest.origin}/v1" } } ]\n`);
    hl = await startHookline({ config: testConfig(temp.dir, { worker: { poll: 50 } } as never) });
    const reloaded = () => new Promise<void>((resolve) => {
      const off = hl!.onRecipesReloaded(() => {
        off();
        resolve();
      });
    });

    let next = reloaded();
    writeFileSync(file, `on: muro/*\nsteps: [ { id: a, http: { url: "${dest.origin}/v2" } } ]\n`);
    await next;
    await postMuro(hl, { id: 'evt_v2', type: 'x', data: {} });
    await dest.waitFor(1);

    next = reloaded();
    writeFileSync(file, `on: muro/*\nsteps: [ { id: a, htp: { url: "${dest.origin}/v3" } } ]\n`);
    await next;
    expect(hl.recipes().refused).toEqual([file]);
    expect(hl.recipes().diagnostics[0]!.message).toMatch(/unknown action "htp"/);
    await postMuro(hl, { id: 'evt_still_v2', type: 'x', data: {} });
    await dest.waitFor(2);

    next = reloaded();
    writeRecipe(temp.dir, 'second', `on: muro/*\nsteps: [ { id: b, http: { url: "${dest.origin}/second" } } ]\n`);
    await next;
    next = reloaded();
    rmSync(file);
    await next;
    await postMuro(hl, { id: 'evt_after_removal', type: 'x', data: {} });
    await dest.waitFor(3);
    expect(dest.requests.map((r) => r.path)).toEqual(['/v2', '/v2', '/second']);
  });

  it('a file added with a running recipe\'s name does not take over its events', async () => {
    dest = await startDestination();
    const temp = tempDir();
    cleanup = temp.cleanup;
    writeRecipe(temp.dir, 'vip', `name: vip\non: muro/*\nsteps: [ { id: a, http: { url: "${dest.origin}/good" } } ]\n`);
    hl = await startHookline({ config: testConfig(temp.dir, { worker: { poll: 50 } } as never) });
    const reloaded = new Promise<void>((resolve) => {
      const off = hl!.onRecipesReloaded(() => {
        off();
        resolve();
      });
    });
    const dup = writeRecipe(temp.dir, 'aaa-dup', `name: vip\non: muro/*\nsteps: [ { id: a, http: { url: "${dest.origin}/hijack" } } ]\n`);
    await reloaded;
    expect(hl.recipes().refused).toEqual([dup]);
    await postMuro(hl, { id: 'evt_after_dup', type: 'x', data: {} });
    await dest.waitFor(1);
    expect(dest.requests.map((r) => r.path)).toEqual(['/good']);
  });
});
