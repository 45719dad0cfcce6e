import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { bin, spawnHookline, type Child } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, MURO_SECRET, tempDir } from '../helpers/env.ts';
import { message, postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';

const exec = promisify(execFile);
const API_KEY = 'sk_live_4f9a8b7c6d5e3a21';
const ADMIN_TOKEN = 'admin-token-for-the-secrets-test';
const DB_PASSWORD = 'pg-s3cret@pa55';

// `hookline serve` as operators run it: a credential reaches a destination through an http step's
// query string; the destination fails, then echoes the key in its error. The key must appear in no
// log line, run error, attempt, admin API answer, console page or CLI output; nor the store password.
describeBackends('secrets never leak', (backend) => {
  let child: Child | undefined;
  let dest: Destination | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    await child?.stop();
    child = undefined;
    await dest?.close();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('an API key in an http step\'s query string and the store URL\'s password are redacted everywhere', async () => {
    dest = await startDestination();
    dest.failNext(500, { status: 400, body: { error: `invalid api_key ${API_KEY}` } });
    const temp = tempDir('hookline-secrets-');
    cleanups.push(temp.cleanup);
    const db = await backend.fresh(temp.dir);
    cleanups.push(() => db.drop());
    // PostgreSQL: a password in the URL as operators write it, '@' and all (the test server trusts local connections).
    const storeUrl = backend.name === 'postgres' ? db.url.replace('postgres://postgres@', `postgres://postgres:${DB_PASSWORD}@`) : db.url;
    writeRecipe(
      temp.dir,
      'lookup',
      `on: muro/message.created
steps:
  - id: lookup
    http:
      method: GET
      url: "${dest.origin}/lookup"
      query: { api_key: "{{ $env.HL_TEST_API_KEY }}", q: "{{ data.message.text }}" }
`,
    );
    const config = join(temp.dir, 'hookline.yaml');
    writeFileSync(
      config,
      `server: { host: 127.0.0.1, port: 0 }
store: { url: ${JSON.stringify(storeUrl)} }
sources:
  muro: { secrets: ["${MURO_SECRET}"] }
  meru: { secrets: ["${MERU_SECRET}"] }
recipes: ${join(temp.dir, 'recipes')}
attachments: ${join(temp.dir, 'attachments')}
data_dir: ${temp.dir}
env: [HL_TEST_API_KEY]
admin: { token: ${ADMIN_TOKEN} }
retry: { schedule: [200ms], jitter: 0 }
worker: { poll: 100ms }
log: { level: info }
`,
    );
    child = await spawnHookline(['serve', '--config', config], { cwd: temp.dir, env: { HL_TEST_API_KEY: API_KEY } });
    const event = message('conv_secret', 'visitor', 'where is my order');
    const dead = child.waitForLog(/run dead-lettered/);
    await postMuro({ url: child.url }, event);
    await dead;

    // Logs (info: the retry line carries the URL) and the human summary on stderr.
    const logs = child.stdout();
    expect.soft(logs).toMatch(/step failed, will retry: .*api_key=\[redacted\]/);
    expect.soft(logs).not.toContain(API_KEY);
    expect.soft(child.stderr()).not.toContain(API_KEY);
    if (backend.name === 'postgres') {
      expect.soft(logs).toMatch(/"store":"postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
      for (const part of [DB_PASSWORD, 'pa55', encodeURIComponent(DB_PASSWORD)]) {
        expect.soft(logs).not.toContain(part);
        expect.soft(child.stderr()).not.toContain(part);
      }
    }

    // The admin API: the run's error, its attempts' requests and responses.
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const detail = await send(`${child.url}/admin/events/${event.id}`, { method: 'GET', headers: auth });
    expect(detail.status).toBe(200);
    const [run] = detail.json.runs;
    expect.soft(run).toMatchObject({ status: 'dead', error: expect.stringContaining('api_key=[redacted]') });
    expect.soft(run.attempts.map((a: { request: { url: string } }) => a.request.url)).toEqual([expect.stringContaining('api_key=[redacted]'), expect.stringContaining('api_key=[redacted]')]);
    expect.soft(detail.text).not.toContain(API_KEY);
    const deadRuns = await send(`${child.url}/admin/runs?status=dead`, { method: 'GET', headers: auth });
    expect.soft(deadRuns.text).toContain('[redacted]');
    expect.soft(deadRuns.text).not.toContain(API_KEY);

    // The console's event page and dead letters.
    const signIn = await send(`${child.url}/console/login`, { body: `token=${ADMIN_TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    for (const page of [`/console/events/${event.id}`, '/console/dead']) {
      const answer = await send(`${child.url}${page}`, { method: 'GET', headers: { cookie } });
      expect(answer.status).toBe(200);
      expect.soft(answer.text).toContain('[redacted]');
      expect.soft(answer.text).not.toContain(API_KEY);
    }

    // The CLI reads the same records.
    const cli = await exec(process.execPath, [bin, 'show', event.id, '--config', config], { cwd: temp.dir });
    expect.soft(cli.stdout).toContain('[redacted]');
    expect.soft(cli.stdout + cli.stderr).not.toContain(API_KEY);
  });
});
