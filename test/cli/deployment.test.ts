import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, spawnHookline, type Child } from '../helpers/child.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { tempDir } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { muroEvent, muroHeaders } from '../helpers/sign.ts';

const run = promisify(execFile);

async function hookline(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    // A time limit: a serve that should refuse to start must not outlive the test.
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env }, timeout: 15_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A port nobody listens on right now (PORT is how the bundled defaults choose one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Variables of the environment that would change what these tests see. */
const clean = { NODE_ENV: '', MURO_WEBHOOK_SECRET: '', MERU_WEBHOOK_SECRET: '', SLACK_WEBHOOK_URL: '', HOOKLINE_ADMIN_TOKEN: '', HOOKLINE_STORE_URL: '', HOOKLINE_CONFIG: '', PORT: '' };

describe('a partial hookline.yaml (only retry:) deployed with its settings in the environment', () => {
  let temp: ReturnType<typeof tempDir>;
  let slack: Destination;
  let child: Child;
  let port: number;
  beforeAll(async () => {
    temp = tempDir();
    slack = await startDestination();
    port = await freePort();
    writeFileSync(join(temp.dir, 'hookline.yaml'), 'retry:\n  schedule: [1s, 5s]\n');
    writeRecipe(temp.dir, 'to-slack', 'on: muro/conversation.opened\nsteps: [ { id: post, slack: { text: "opened {{ id }}" } } ]\n');
    child = await spawnHookline(['serve'], {
      cwd: temp.dir,
      env: {
        ...clean,
        PORT: String(port),
        MURO_WEBHOOK_SECRET: 'muro-secret-from-env',
        SLACK_WEBHOOK_URL: `${slack.origin}/services/T1/B1/x`,
        HOOKLINE_ADMIN_TOKEN: 'admin-token-from-env',
      },
    });
  });
  afterAll(async () => {
    await child?.stop();
    await slack?.close();
    temp.cleanup();
  });

  it('listens on $PORT with the console on (HOOKLINE_ADMIN_TOKEN)', () => {
    expect(child.url).toBe(`http://127.0.0.1:${port}`);
    expect(child.stderr()).toContain(`console:         ${child.url}/console`);
  });

  it('verifies with MURO_WEBHOOK_SECRET and posts to SLACK_WEBHOOK_URL', async () => {
    const body = JSON.stringify(muroEvent('evt_partial_1', 'conversation.opened'));
    const answer = await send(`${child.url}/muro/webhook`, { body, headers: muroHeaders(body, 'muro-secret-from-env') });
    expect(answer.status).toBe(200);
    await slack.arrived(1);
    expect(slack.requests[0]!.path).toBe('/services/T1/B1/x');
    expect((slack.requests[0]!.body as { text: string }).text).toBe('opened evt_partial_1');
  });

  it('warns loudly that meru (no MERU_WEBHOOK_SECRET) runs on a generated secret on a non-loopback host', async () => {
    const warning = child.stderr().split('\n').filter((l) => l.startsWith('WARNING'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/^WARNING: meru runs on a generated development secret .*listens on 0\.0\.0\.0.*MERU_WEBHOOK_SECRET/);
    expect(warning[0]).not.toMatch(/muro/);
    // stdout and stderr arrive independently: the log line may come after the summary on stderr.
    const pattern = /generated development secret/;
    if (!pattern.test(child.stdout())) await child.waitForLog(pattern);
    const logged = child.stdout().split('\n').filter((l) => pattern.test(l)).map((l) => JSON.parse(l));
    expect(logged).toEqual([expect.objectContaining({ level: 40, sources: ['meru'], reasons: ['server.host is 0.0.0.0, not loopback'] })]);
  });
});

describe('generated secrets where a deployment is configured', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
    writeFileSync(join(temp.dir, 'hookline.yaml'), `server: { port: 0 }\nstore: { url: "sqlite:./hookline.db" }\nlog: { level: warn }\n`);
  });
  afterAll(() => temp.cleanup());

  it('NODE_ENV=production: serve refuses to start and says what to set', async () => {
    const refused = await hookline(['serve'], temp.dir, { ...clean, NODE_ENV: 'production', MURO_WEBHOOK_SECRET: 'set' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to start with NODE_ENV=production: meru would run on a generated development secret/);
    expect(refused.stderr).toMatch(/MERU_WEBHOOK_SECRET/);
    expect(refused.stderr).toMatch(/sources\.meru\.enabled: false/);
  });

  it('check warns (exit 0) on a non-loopback host, and fails under NODE_ENV=production', async () => {
    const warned = await hookline(['check'], temp.dir, clean);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^WARNING: muro, meru run on generated development secrets .*listens on 0\.0\.0\.0/m);
    const failed = await hookline(['check'], temp.dir, { ...clean, NODE_ENV: 'production' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/serve would refuse to start with NODE_ENV=production: muro, meru would run on generated development secrets/);
  });

  it('a loopback host outside production gets the usual note, no warning', async () => {
    const local = tempDir();
    try {
      writeFileSync(join(local.dir, 'hookline.yaml'), `server: { host: 127.0.0.1, port: 0 }\nstore: { url: "sqlite:./hookline.db" }\nlog: { level: warn }\n`);
      const child = await spawnHookline(['serve'], { cwd: local.dir, env: clean, waitFor: /hookline listening on (http:\/\/\S+)[\s\S]*dev secrets/ });
      await child.stop();
      expect(child.stderr()).not.toMatch(/WARNING/);
      expect((await hookline(['check'], local.dir, clean)).stderr).not.toMatch(/WARNING/);
    } finally {
      local.cleanup();
    }
  });
});
