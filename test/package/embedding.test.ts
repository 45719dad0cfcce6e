import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MURO_SECRET, tempDir } from '../helpers/env.ts';
import { send } from '../helpers/server.ts';
import { muroEvent, muroHeaders } from '../helpers/sign.ts';

// `import { createHookline } from 'hookline'` the way a user gets it: the package `npm pack` makes,
// installed in a project of its own (node_modules/hookline a copy, so Node strips no types there),
// type-checked with TypeScript and run — and examples/express/app.ts run in that project and in a
// `file:` install of this checkout. The project's other dependencies are linked to this checkout's
// node_modules: nothing is downloaded.

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const example = join(root, 'examples/express');

/** A user's project in `dir`: package.json, a hookline.yaml with known secrets, and node_modules. */
function project(dir: string, hookline: (target: string) => unknown): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name !== 'hookline' && !name.startsWith('.')) symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
  }
  hookline(join(dir, 'node_modules/hookline'));
  cpSync(join(example, 'package.json'), join(dir, 'package.json'));
  cpSync(join(example, 'app.ts'), join(dir, 'app.ts'));
  writeFileSync(
    join(dir, 'hookline.yaml'),
    `store: { url: "sqlite:${join(dir, 'hookline.db')}" }\nsources: { muro: { secrets: [ "${MURO_SECRET}" ] }, meru: { enabled: false } }\nrecipes: ${join(dir, 'recipes')}\ndata_dir: ${join(dir, 'data')}\nlog: { level: warn }\n`,
  );
}

/** Runs examples/express/app.ts in `dir` on a free port; resolves with its URL once it listens. */
function startExample(dir: string): Promise<{ url: string; output: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['app.ts'], { cwd: dir, env: { ...process.env, PORT: '0', NODE_ENV: '', HOOKLINE_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)\n(.*\n)*$/.exec(output)?.[1];
      if (url) resolve({ url, output: () => output, stop: () => (child.kill('SIGTERM'), exited) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`the example exited (${code}) before listening:\n${output}`)));
  });
}

async function exampleWorks(dir: string): Promise<void> {
  const app = await startExample(dir);
  try {
    expect(app.output()).toContain(`muro webhooks: POST ${app.url}/hooks/muro/webhook`);
    const body = JSON.stringify(muroEvent('evt_embedded_1', 'conversation.opened'));
    expect((await send(`${app.url}/hooks/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) })).json).toEqual({ ok: true, id: 'evt_embedded_1' });
    expect((await send(`${app.url}/hooks/muro/webhook`, { body })).json).toMatchObject({ code: 'HL_SIGNATURE_MISSING' });
    expect((await send(`${app.url}/`, { method: 'GET' })).text).toMatch(/my application/);
    expect((await send(`${app.url}/metrics`, { method: 'GET' })).text).toMatch(/hookline_events_received_total\{source="muro",outcome="accepted"\} 1/);
  } finally {
    expect(await app.stop()).toBe(0);
  }
}

describe('the packed package, installed in a project of its own', () => {
  const temp = tempDir('hookline-package-');
  const dir = join(temp.dir, 'app');
  beforeAll(async () => {
    // prepack builds dist/ and postpack removes it: the checkout is left as it was.
    await run('npm', ['pack', '--silent', '--pack-destination', temp.dir], { cwd: root });
    const [tarball] = readdirSync(temp.dir).filter((f) => f.endsWith('.tgz'));
    project(dir, (target) => mkdirSync(target));
    await run('tar', ['-xzf', join(temp.dir, tarball!), '-C', join(dir, 'node_modules/hookline'), '--strip-components=1']);
  }, 120_000);
  afterAll(() => temp.cleanup());

  it('holds the built JavaScript and declarations, and none of the sources or tests', () => {
    const pkg = join(dir, 'node_modules/hookline');
    for (const file of ['index.js', 'dist/index.js', 'dist/index.d.ts', 'dist/sources/muro/samples/conversation.opened.json', 'dist/console/assets/console.css', 'bin/hookline.js', 'config.example.yaml']) {
      expect(existsSync(join(pkg, file)), file).toBe(true);
    }
    for (const file of ['src', 'test', 'bench', 'examples']) expect(existsSync(join(pkg, file)), file).toBe(false);
    expect(existsSync(join(root, 'dist')), 'postpack left dist/ in the checkout').toBe(false);
  });

  it('type-checks a user\'s TypeScript against the declarations (examples/express/app.ts, and a misuse)', async () => {
    writeFileSync(
      join(dir, 'misuse.ts'),
      "import { createHookline } from 'hookline';\n// @ts-expect-error: a path or an object of config keys\nawait createHookline({ config: 42 });\nconst hl = await createHookline();\n// @ts-expect-error: no such method\nhl.fastify();\n",
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], allowImportingTsExtensions: true }, include: ['app.ts', 'misuse.ts'] }),
    );
    await expect(run(join(root, 'node_modules/.bin/tsc'), ['-p', dir], { cwd: dir })).resolves.toBeDefined();
  }, 60_000);

  it('runs examples/express/app.ts from the installed package (built JavaScript, not type stripping)', async () => {
    await exampleWorks(dir);
  });

  it('runs its CLI from the installed package', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'node_modules/hookline/bin/hookline.js'), 'sources'], { cwd: dir });
    expect(stdout).toMatch(/^muro +muro +\/muro\/webhook +1 configured/m);
  });
});

describe('examples/express in a `file:` install of this checkout', () => {
  const temp = tempDir('hookline-example-');
  afterAll(() => temp.cleanup());

  it('runs: npm links node_modules/hookline to the checkout, whose TypeScript Node runs as it is', async () => {
    project(temp.dir, (target) => symlinkSync(root, target));
    await exampleWorks(temp.dir);
  });
});
