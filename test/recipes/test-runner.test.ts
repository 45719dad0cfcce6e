// `hookline test` runs the real engine (router trigger, step loop, wait_for, arguments) with fake
// actions: a recipe that would fail in production fails its test the same way.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { actionRegistry } from '../../src/actions/registry.ts';
import { runRecipeTests } from '../../src/engine/test-runner.ts';
import { loadRecipes } from '../../src/recipes/load.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';

describe('hookline test runs the engine', () => {
  let temp: ReturnType<typeof tempDir>;
  afterEach(() => temp?.cleanup());

  async function run(yaml: string) {
    temp = tempDir();
    writeRecipe(temp.dir, 'r', yaml);
    const config = testConfig(temp.dir);
    const set = loadRecipes(config.recipes, actionRegistry());
    expect(set.diagnostics).toEqual([]);
    return runRecipeTests(set, config);
  }

  it('feeds wait_for outcomes (default timed out) and action outputs (the test’s, else the fake’s) to later steps', async () => {
    const [result] = await run(`on: muro/message.created
steps:
  - id: reply
    wait_for: { event: muro/message.created, timeout: 2m }
  - id: first
    if: $steps.reply.timed_out
    http: { url: "https://x.test/a", body: { n: 1 } }
  - id: second
    http: { url: "https://x.test/b", body: { got: "{{ $steps.first.body.answer }}", waited: "{{ $steps.reply.timed_out }}" } }
tests:
  - name: chain
    event: muro/message.created.visitor
    steps: { first: { status: 200, body: { answer: 42 } } }
    expect:
      - http: { url: "https://x.test/a" }
      - http: { body: { got: 42, waited: true } }
`);
    expect(result).toMatchObject({ ok: true, failures: [] });
    expect(result!.actions).toHaveLength(2);
  });

  it('a trigger key that cannot be evaluated fails the test, as it dead-letters the run in production', async () => {
    const [result] = await run(`on: muro/message.created
key: data
steps: [ { id: hello, http: { url: "https://x.test/a" } } ]
tests:
  - name: keyed
    event: muro/message.created.visitor
    expect: [ { http: { url: "https://x.test/a" } } ]
`);
    expect(result!.ok).toBe(false);
    expect(result!.failures.join('\n')).toMatch(/recipe r: key expression "data" failed: evaluated to \{.*a key must be a string or number/);
  });

  it('a wait_for timeout that renders no duration fails the test, as it does the run', async () => {
    const [result] = await run(`on: muro/message.created
steps:
  - id: reply
    wait_for: { event: muro/message.created, timeout: "{{ data.message.text }}" }
  - id: after
    http: { url: "https://x.test/a" }
tests:
  - name: waits
    event: muro/message.created.visitor
    expect: [ { http: { url: "https://x.test/a" } } ]
`);
    expect(result!.ok).toBe(false);
    expect(result!.failures.join('\n')).toMatch(/recipe r, step reply: timeout .* is not a duration/);
  });

  it('passes the tests of the bundled recipes', async () => {
    temp = tempDir();
    const config = testConfig(temp.dir, { recipes: fileURLToPath(new URL('../../recipes', import.meta.url)) });
    const results = await runRecipeTests(loadRecipes(config.recipes, actionRegistry()), config);
    expect(results.length).toBeGreaterThan(10);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
