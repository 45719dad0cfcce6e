// What `hookline serve` loads at start: the SDKs of actions and the driver of the other store stay on
// disk until a run needs them, so a server's memory is what its recipes use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';

const recorder = fileURLToPath(new URL('../helpers/record-modules.mjs', import.meta.url));
let temp: ReturnType<typeof tempDir> | undefined;
let child: Child | undefined;
afterEach(async () => {
  await child?.stop();
  child = undefined;
  temp?.cleanup();
});

it('a server on SQLite whose recipes use none of them loads no action SDK and no PostgreSQL driver', async () => {
  temp = tempDir();
  writeRecipe(temp.dir, 'r', 'on: muro/*\nsteps: [ { id: a, log: hi } ]\n');
  const record = join(temp.dir, 'modules.txt');
  child = await spawnHookline(['serve', '--config', writeChildConfig(temp.dir)], { cwd: temp.dir, env: { NODE_OPTIONS: `--import=${recorder}`, RECORD_MODULES: record } });
  await child.stop();
  child = undefined;
  const loaded = readFileSync(record, 'utf8');
  expect(loaded).toContain('/node_modules/better-sqlite3/');
  for (const pkg of ['@slack/webhook', '@hubspot/api-client', 'openai', '@pagerduty/pdjs', 'pg']) expect(loaded, pkg).not.toContain(`/node_modules/${pkg}/`);
});
