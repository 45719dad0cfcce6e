#!/usr/bin/env node
// hookline is written in TypeScript and run by Node's built-in type stripping (Node >= 22.18); an
// installed package (no src/: Node does not strip types under node_modules) runs what `npm pack` built.
import { existsSync } from 'node:fs';
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`hookline needs Node.js 22.18 or newer (24 LTS recommended); this is ${process.version}.`);
  process.exit(1);
}
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') console.error(w);
});
const sources = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(sources) ? sources.href : new URL('../dist/cli/main.js', import.meta.url).href);
await main(process.argv);
