// `npm pack` runs this (prepack) to build dist/ — the JavaScript and the declarations of src/ — for
// the installed package, and again with --clean (postpack) to remove it: in a checkout hookline runs
// its TypeScript sources by Node's type stripping, which Node does not do under node_modules.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

/** Every file under `dir`, relative to it. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(prefix, e.name)) : [join(prefix, e.name)]));
}

// What the code reads beside itself at run time: samples (JSON), the console's assets.
for (const file of files(join(root, 'src'))) {
  if (extname(file) !== '.ts') cpSync(join(root, 'src', file), join(dist, file));
}

// The declarations keep the sources' ".ts" import specifiers; the files beside them are ".d.ts"
// for ".js" files, which is what a consumer's TypeScript resolves.
for (const file of files(dist).filter((f) => f.endsWith('.d.ts'))) {
  const path = join(dist, file);
  const text = readFileSync(path, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2');
  if (fixed !== text) writeFileSync(path, fixed);
}
console.log(`built ${dist}`);
