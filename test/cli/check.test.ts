import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventTypeWarnings } from '../../src/recipes/event-types.ts';
import { eventMatcher } from '../../src/recipes/match.ts';
import { eventSourcesOf, sourceNamed } from '../../src/sources/configured.ts';
import { tempDir, testConfig } from '../helpers/env.ts';
import { runHookline, spawnHookline } from '../helpers/child.ts';
import { writeRecipe } from '../helpers/recipes.ts';

const hookline = (args: string[], cwd: string) => runHookline(args, cwd, { NODE_ENV: '' });

const config = testConfig('/tmp/unused');
const warnings = (text: string, sources = eventSourcesOf(config)) => eventTypeWarnings('r.yaml', text, sources).map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);

describe('event types no source sends', () => {
  it('knows what each source sends: MERU only email.received; muro the types of its Webhooks 101', () => {
    expect(sourceNamed(config, 'meru')!.scheme.eventTypes).toEqual(['email.received']);
    expect([...sourceNamed(config, 'muro')!.scheme.eventTypes!].sort()).toEqual(['conversation.closed', 'conversation.opened', 'message.created', 'visitor.identified']);
  });

  it('warns at the position of `on` and of `wait_for.event`, with the types the source sends and the likely one', () => {
    expect(warnings('name: x\non: meru/email.recieved\nsteps: [ { id: a, log: hi } ]\n')).toEqual([
      'r.yaml:2:5: on: meru does not send "email.recieved" (it sends only email.received; did you mean meru/email.received?): this recipe would never run',
    ]);
    const text = [
      'name: x',
      'on: [ muro/conversation.opened, muro/conversation.assigned ]',
      'steps:',
      '  - id: reply',
      '    wait_for: { event: muro/message.create, timeout: 2m }',
    ].join('\n');
    expect(warnings(text)).toEqual([
      'r.yaml:2:33: on.1: muro does not send "conversation.assigned" (it sends conversation.opened, message.created, visitor.identified, conversation.closed): this recipe would never run on it',
      'r.yaml:5:24: steps.0.wait_for.event: muro does not send "message.create" (it sends conversation.opened, message.created, visitor.identified, conversation.closed; did you mean muro/message.created?): this wait would always time out',
    ]);
  });

  it('globs warn only when they match nothing a source sends', () => {
    expect(warnings('name: x\non: [ muro/conversation.*, meru/*, "*/email.*", "*/*" ]\nsteps: [ { id: a, log: hi } ]\n')).toEqual([]);
    expect(warnings('name: x\non: muro/ticket.*\nsteps: [ { id: a, log: hi } ]\n')).toEqual([
      expect.stringMatching(/^r\.yaml:2:5: on: muro does not send anything matching "ticket\.\*" \(it sends conversation\.opened, .*\): this recipe would never run$/),
    ]);
    expect(warnings('name: x\non: "*/visitor.left"\nsteps: [ { id: a, log: hi } ]\n')).toEqual([
      expect.stringMatching(/^r\.yaml:2:5: on: no source sends "visitor\.left"/),
    ]);
  });
});

describe('event types with any number of sources', () => {
  const withOthers = testConfig('/tmp/unused', {
    sources: { shop: { preset: 'shopify', secrets: ['shop-secret-0123'] }, gh: { preset: 'github', secrets: ['gh-secret-0123'] } },
  });

  it('a source that is not configured is named, with the ones that are', () => {
    expect(warnings('name: x\non: gitlab/push\nsteps: [ { id: a, log: hi } ]\n', eventSourcesOf(withOthers))).toEqual([
      'r.yaml:2:5: on: no source "gitlab" is configured (sources: muro, meru, shop, gh, hookline): this recipe would never run',
    ]);
  });

  it('providers whose types are an open set (GitHub, Shopify, Stripe, hmac) are never second-guessed; hookline\'s own are known', () => {
    const sources = eventSourcesOf(withOthers);
    expect(warnings('name: x\non: [ gh/issues.opened, gh/anything.at-all, shop/orders/create, "shop/orders/*", "*/visitor.left" ]\nsteps: [ { id: a, log: hi } ]\n', sources)).toEqual([]);
    expect(warnings('name: x\non: [ hookline/run.dead, hookline/source.rejecting ]\nsteps: [ { id: a, log: hi } ]\n', sources)).toEqual([]);
    expect(warnings('name: x\non: hookline/run.died\nsteps: [ { id: a, log: hi } ]\n', sources)).toEqual([
      expect.stringMatching(/^r\.yaml:2:5: on: hookline does not send "run\.died" \(it sends run\.dead, source\.rejecting, source\.recovered, schedule; did you mean hookline\/run\.dead\?\)/),
    ]);
  });

  it('a pattern is split at its first /: a Shopify topic keeps its own', () => {
    const matcher = eventMatcher('shop/orders/*');
    expect([matcher.source, matcher.type]).toEqual(['shop', 'orders/*']);
    expect(matcher.matches('shop', 'orders/create')).toBe(true);
    expect(matcher.matches('shop', 'products/create')).toBe(false);
    expect(eventMatcher('*/orders/create').matches('shop', 'orders/create')).toBe(true);
  });
});

describe('hookline check with a recipe on an event type nobody sends', () => {
  it('prints the warning with file:line:col and exits 0 when there are only warnings', async () => {
    const temp = tempDir();
    try {
      writeFileSync(join(temp.dir, 'hookline.yaml'), 'server: { host: 127.0.0.1, port: 0 }\n');
      const file = writeRecipe(temp.dir, 'typo', 'name: typo\non: meru/email.recieved\nsteps: [ { id: a, log: hi } ]\n');
      const result = await hookline(['check'], temp.dir);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`ok    recipe typo (${file})`);
      expect(result.stderr).toContain(`${file}:2:5: warning: on: meru does not send "email.recieved"`);
      expect(result.stderr).toMatch(/\n1 warning\n/);

      writeRecipe(temp.dir, 'broken', 'name: broken\non: muro/message.created\nsteps: [ { id: a, nope: 1 } ]\n');
      const failed = await hookline(['check'], temp.dir);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/\n1 error, 1 warning\n/);

      // serve logs the same warning at start, for operators who do not run check.
      const child = await spawnHookline(['serve'], { cwd: temp.dir, env: { NODE_ENV: '' } });
      try {
        // stdout and stderr arrive independently: the log line may come after the summary on stderr.
        const warning = child.stdout().split('\n').find((l) => l.includes('recipe warning')) ?? (await child.waitForLog(/recipe warning/));
        expect(JSON.parse(warning)).toMatchObject({ level: 40, file, line: 2, col: 5 });
      } finally {
        await child.stop();
      }
    } finally {
      temp.cleanup();
    }
  });
});
