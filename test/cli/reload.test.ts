import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnHookline, type Child } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { send } from '../helpers/server.ts';
import { muroEvent, muroHeaders } from '../helpers/sign.ts';

/** A complete config for a child in `dir` whose muro secrets are `secrets`; `extra` is appended. */
function writeConfig(dir: string, secrets: string[], extra = '', name = 'hookline.yaml'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: 0 }
store: { url: "sqlite:${join(dir, 'hookline.db')}" }
sources:
  muro: { secrets: ${JSON.stringify(secrets)} }
  meru: { secrets: [ "whsec_reload_test" ] }
recipes: ${join(dir, 'recipes')}
data_dir: ${dir}
log: { level: info }
${extra}`,
  );
  return file;
}

let counter = 0;
async function post(child: Child, secret: string) {
  const body = JSON.stringify(muroEvent(`evt_reload_${process.pid}_${++counter}`, 'message.created'));
  return (await send(`${child.url}/muro/webhook`, { body, headers: muroHeaders(body, secret) })).status;
}

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe('hookline serve reloads its config', () => {
  let temp: ReturnType<typeof tempDir>;
  let child: Child | undefined;
  afterEach(async () => {
    await child?.stop();
    child = undefined;
    temp.cleanup();
  });

  it('on SIGHUP: after a secret rotation the new secret verifies; the startup summary says what needs a restart', async () => {
    temp = tempDir();
    writeConfig(temp.dir, ['first-secret']);
    // --no-watch-config: only the signal can have applied the change.
    child = await spawnHookline(['serve', '--no-watch-config'], { cwd: temp.dir });
    expect(child.stderr()).toMatch(/config reload: {3}kill -HUP \d+: sources\.\*\.secrets.* apply at once\n {19}needs a restart: server\.\*, store\.\*, worker\.\*, recipes/);
    expect(await post(child, 'first-secret')).toBe(200);

    writeConfig(temp.dir, ['second-secret', 'first-secret']);
    const reloaded = child.waitForLog(/"msg":"config reloaded"/);
    child.proc.kill('SIGHUP');
    expect(parse(await reloaded)).toMatchObject({ trigger: 'SIGHUP', changed: ['sources.muro.secrets'] });
    expect(await post(child, 'second-secret')).toBe(200);

    writeConfig(temp.dir, ['second-secret']);
    const again = child.waitForLog(/"msg":"config reloaded"/);
    child.proc.kill('SIGHUP');
    await again;
    expect(await post(child, 'first-secret')).toBe(401);
    expect(await post(child, 'second-secret')).toBe(200);
    expect(child.stdout()).not.toContain('second-secret');
  });

  it('when the file changes (an editor replacing it too); changes that need a restart are named and keep running', async () => {
    temp = tempDir();
    const file = writeConfig(temp.dir, ['first-secret']);
    child = await spawnHookline(['serve'], { cwd: temp.dir });

    const reloaded = child.waitForLog(/"msg":"config reloaded"/);
    const restart = child.waitForLog(/need a restart/);
    writeConfig(temp.dir, ['second-secret'], 'worker: { concurrency: 2 }\n');
    expect(parse(await reloaded)).toMatchObject({ trigger: `${file} changed`, changed: ['sources.muro.secrets'] });
    expect(parse(await restart)).toMatchObject({ level: 40, keys: ['worker.concurrency'] });
    expect(await post(child, 'second-secret')).toBe(200);

    // Saved the way editors do: a new file renamed over the old one.
    const renamed = child.waitForLog(/"msg":"config reloaded"/);
    renameSync(writeConfig(temp.dir, ['third-secret'], 'worker: { concurrency: 2 }\n', 'hookline.yaml.tmp'), file);
    expect(parse(await renamed)).toMatchObject({ changed: ['sources.muro.secrets'] });
    expect(await post(child, 'third-secret')).toBe(200);
  });

  it('refuses an invalid config with file:line:col, and the running one keeps working', async () => {
    temp = tempDir();
    const file = writeConfig(temp.dir, ['first-secret']);
    child = await spawnHookline(['serve', '--no-watch-config'], { cwd: temp.dir });
    writeFileSync(file, `${'server: { host: 127.0.0.1, port: 0 }\n'}sources:\n  muro: { secrets: [ "x" ], tolerance: soon }\n`);
    const refused = child.waitForLog(/config reload refused/);
    child.proc.kill('SIGHUP');
    const line = parse(await refused);
    expect(line).toMatchObject({ level: 50, trigger: 'SIGHUP' });
    expect(line.msg).toContain(`${file}:3:40: sources.muro.tolerance: expected a duration`);
    expect(await post(child, 'first-secret')).toBe(200);
    expect(await post(child, 'x')).toBe(401);
  });
});
