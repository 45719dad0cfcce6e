import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const check = 'scripts/check-node-version.js';

/** A Node.js older than 22.18 on this machine (the system's Node 20), if there is one. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(candidate)) continue;
    const [major, minor] = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number) as [number, number];
    if (major < 22 || (major === 22 && minor < 18)) return candidate;
  }
  return undefined;
}

const old = oldNode();

describe('npm test checks the Node.js version first', () => {
  it('runs the check before tsc and vitest (npm test and test:watch)', () => {
    const { scripts } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.test).toMatch(new RegExp(`^node ${check} && `));
    expect(scripts['test:watch']).toMatch(new RegExp(`^node ${check} && `));
  });

  // Not `npm test` itself under the old Node: should the check ever let it through, that would run
  // the whole suite again, recursively.
  it.skipIf(!old)(`stops an older Node.js (${old ?? 'none found'}) with the same message as npm start`, async () => {
    const failed = await run(old!, [check], { cwd: root }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed).toBeDefined();
    expect(failed!.code).toBe(1);
    expect(failed!.stderr).toMatch(/^hookline needs Node\.js 22\.18 or newer \(24 LTS recommended\); this is v\d+\.\d+\.\d+\.\nUse Node\.js 24/);
  });

  it('passes silently on this Node.js', async () => {
    const { stdout, stderr } = await run(process.execPath, [check], { cwd: root });
    expect(stdout + stderr).toBe('');
  });
});
