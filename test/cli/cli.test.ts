import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.ts';
import { bin, spawnHookline, type Child } from '../helpers/child.ts';

const run = promisify(execFile);

async function hookline(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('commands that read the store say which config and store they used', () => {
  it('on stderr, the store URL without its password, for events, show, replay, dead and tickets', async () => {
    const temp = tempDir();
    try {
      writeFileSync(join(temp.dir, 'hookline.yaml'), 'store: { url: "sqlite:./here.db" }\n');
      for (const args of [['events'], ['show', 'evt_x'], ['replay', 'evt_x'], ['dead'], ['tickets']]) {
        const result = await hookline(args, temp.dir);
        expect(result.stderr.split('\n')[0], args[0]).toBe(`using config ${join(temp.dir, 'hookline.yaml')}, store sqlite:${join(temp.dir, 'here.db')}`);
      }
      const bundled = tempDir();
      try {
        expect((await hookline(['events', '--json'], bundled.dir, { HOOKLINE_STORE_URL: '' })).stderr).toMatch(/^using config .*config\.example\.yaml \(bundled defaults\), store sqlite:.*data\/hookline\.db\n/);
      } finally {
        bundled.cleanup();
      }
      writeFileSync(join(temp.dir, 'hookline.yaml'), 'store: { url: "postgres://hookline:s3cret@127.0.0.1:1/hookline", statement_timeout: 1s }\n');
      const unreachable = await hookline(['events'], temp.dir);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/^using config .*, store postgres:\/\/hookline:\*\*\*@127\.0\.0\.1:1\/hookline\n/);
      expect(unreachable.stderr).not.toContain('s3cret');
    } finally {
      temp.cleanup();
    }
  });
});

describe('hookline check', () => {
  it('passes on the bundled defaults and on a valid file', async () => {
    const temp = tempDir();
    try {
      const ok = await hookline(['check'], temp.dir);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/ok\s+config .*config\.example\.yaml \(bundled defaults\)/);
      writeFileSync(join(temp.dir, 'hookline.yaml'), 'server: { port: 4000 }\n');
      expect((await hookline(['check'], temp.dir)).stdout).toContain(join(temp.dir, 'hookline.yaml'));
    } finally {
      temp.cleanup();
    }
  });

  it('exits non-zero and lists every error as file:line:col', async () => {
    const temp = tempDir();
    try {
      const file = join(temp.dir, 'bad.yaml');
      writeFileSync(file, 'server:\n  port: http\nretry:\n  timeout: soon\n');
      const bad = await hookline(['check', '--config', 'bad.yaml'], temp.dir);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`${file}:2:9: server.port:`);
      expect(bad.stderr).toContain(`${file}:4:12: retry.timeout: expected a duration`);
      expect(bad.stderr).toMatch(/2 errors/);
    } finally {
      temp.cleanup();
    }
  });
});

describe('hookline serve behind a reverse proxy', () => {
  it('prints the webhook and console URLs under server.public_url, the address to paste into muro and MERU', async () => {
    const temp = tempDir();
    const config = `server: { host: 127.0.0.1, port: 0, public_url: "https://hooks.example.com/" }\nstore: { url: "sqlite:./hookline.db" }\nsources: { muro: { secrets: [s1] }, meru: { secrets: [s2] } }\nadmin: { token: t0ken }\nlog: { level: warn }\n`;
    writeFileSync(join(temp.dir, 'hookline.yaml'), config);
    const child = await spawnHookline(['serve'], { cwd: temp.dir, waitFor: /hookline listening on (http:\/\/\S+)[\s\S]*console/ });
    try {
      expect(child.stderr()).toContain('POST https://hooks.example.com/muro/webhook');
      expect(child.stderr()).toContain('POST https://hooks.example.com/meru/webhook');
      expect(child.stderr()).toMatch(/console: +https:\/\/hooks\.example\.com\/console/);
      // Health checks and metrics are scraped from inside, at the listening address.
      expect(child.stderr()).toContain(`GET  ${child.url}/healthz`);
    } finally {
      await child.stop();
      temp.cleanup();
    }
  });
});

describe('hookline serve stopped by its supervisor', () => {
  it('a SIGTERM sent the moment the listening line appears stops it cleanly (exit 0), every time', async () => {
    const temp = tempDir();
    writeFileSync(join(temp.dir, 'hookline.yaml'), 'server: { host: 127.0.0.1, port: 0 }\nstore: { url: "sqlite:./hookline.db" }\nsources: { muro: { secrets: [s1s1s1s1s1] }, meru: { secrets: [s2s2s2s2s2] } }\nlog: { level: warn }\n');
    try {
      for (let round = 0; round < 3; round++) {
        // Signalled from inside the data callback, with no turn of the event loop in between: the
        // handler must exist before the line is written (it did not, and the default action killed it).
        const proc = spawn(process.execPath, [bin, 'serve'], { cwd: temp.dir, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        proc.stderr.on('data', (d) => {
          err += d;
          if (err.includes('hookline listening on') && proc.signalCode === null && !proc.killed) proc.kill('SIGTERM');
        });
        const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])));
        expect({ code, signal }, err).toEqual({ code: 0, signal: null });
      }
    } finally {
      temp.cleanup();
    }
  });
});

describe('hookline serve and send, with no secrets configured', () => {
  let temp: ReturnType<typeof tempDir>;
  let child: Child;
  beforeAll(async () => {
    temp = tempDir();
    // No secrets: hookline must generate development secrets rather than accept unsigned events.
    writeFileSync(join(temp.dir, 'hookline.yaml'), `server: { host: 127.0.0.1, port: 0 }\nstore: { url: "sqlite:./hookline.db" }\nlog: { level: warn }\n`);
    child = await spawnHookline(['serve'], { cwd: temp.dir, waitFor: /hookline listening on (http:\/\/\S+)[\s\S]*dev secrets/ });
  });
  afterAll(async () => {
    await child.stop();
    temp.cleanup();
  });

  it('prints its endpoints and where the generated dev secrets are', () => {
    const secretsFile = join(temp.dir, 'data', 'dev-secrets.json');
    expect(child.stderr()).toContain(`POST ${child.url}/muro/webhook`);
    expect(child.stderr()).toContain(`POST ${child.url}/meru/webhook`);
    expect(child.stderr()).toContain(secretsFile);
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8'));
    expect(secrets.muro).toMatch(/^[0-9a-f]{48}$/);
    expect(secrets.meru).toMatch(/^whsec_/);
  });

  it('send signs a muro test event with the dev secret; it is stored with data.test = true', async () => {
    const sent = await hookline(['send', 'muro', 'conversation.opened', '--url', `${child.url}/muro/webhook`], temp.dir);
    expect(sent.code).toBe(0);
    const id = /"id":"(evt_test_[0-9a-f]+)"/.exec(sent.stdout)?.[1];
    expect(sent.stdout).toMatch(/^200 \{"ok":true,"id":"evt_test_/);
    const db = new Database(join(temp.dir, 'hookline.db'), { readonly: true });
    const row = db.prepare('SELECT type, test, body FROM events WHERE event_id = ?').get(id) as { type: string; test: number; body: string };
    db.close();
    expect(row).toMatchObject({ type: 'conversation.opened', test: 1 });
    expect(JSON.parse(row.body).data.visitor.name).toBe('Dana Whitfield');
  });

  it('send posts a MERU sample and a JSON file', async () => {
    expect((await hookline(['send', 'meru', 'email.with-pdf', '--url', `${child.url}/meru/webhook`], temp.dir)).stdout).toMatch(/^200 /);
    const file = join(temp.dir, 'event.json');
    writeFileSync(file, JSON.stringify({ id: 'evt_from_file', type: 'visitor.identified', data: {} }));
    const sent = await hookline(['send', 'muro', file, '--url', `${child.url}/muro/webhook`], temp.dir);
    expect(sent.stdout).toMatch(/^200 \{"ok":true,"id":"evt_from_file"\}/);
    const again = await hookline(['send', 'muro', file, '--url', `${child.url}/muro/webhook`], temp.dir);
    expect(again.stdout).toMatch(/^200 \{"ok":true,"duplicate":true\}/);
  });

  it('send on a 401 with a development secret says that the two sides do not share a secret, and how to fix it', async () => {
    const elsewhere = tempDir();
    try {
      // Another folder: its own generated secret, which the running server does not know.
      writeFileSync(join(elsewhere.dir, 'hookline.yaml'), `server: { host: 127.0.0.1 }\nlog: { level: warn }\n`);
      const sent = await hookline(['send', 'muro', 'conversation.opened', '--url', `${child.url}/muro/webhook`], elsewhere.dir, { MURO_WEBHOOK_SECRET: '' });
      expect(sent.code).toBe(1);
      expect(sent.stdout).toMatch(/^401 .*HL_SIGNATURE_MISMATCH/);
      expect(sent.stderr).toContain(`signed with the development secret generated for muro in ${join(elsewhere.dir, 'data', 'dev-secrets.json')}`);
      expect(sent.stderr).toContain(`no sources.muro.secrets in ${join(elsewhere.dir, 'hookline.yaml')}`);
      expect(sent.stderr).toMatch(/set the same secret for both: MURO_WEBHOOK_SECRET in the environment of both \(or sources\.muro\.secrets in their config\), or pass --config <the server's config file>/);
    } finally {
      elsewhere.cleanup();
    }
  });

  it('send explains what went wrong', async () => {
    const unknown = await hookline(['send', 'github', 'push'], temp.dir);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toMatch(/unknown source "github"/);
    const down = await hookline(['send', 'muro', 'message.created', '--url', 'http://127.0.0.1:1/muro/webhook'], temp.dir);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach .* is `hookline serve` running\?/);
    expect(existsSync(join(temp.dir, 'data', 'dev-secrets.json'))).toBe(true);
  });
});
