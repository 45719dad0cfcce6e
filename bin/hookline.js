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
// Runs the TypeScript sources where they are (a checkout), else what `npm pack` built.
const built = !existsSync(new URL('../src/cli/main.ts', import.meta.url));
const entry = (path) => new URL(built ? `../dist/${path}.js` : `../src/${path}.ts`, import.meta.url).href;
// Traces (OTEL_EXPORTER_OTLP_ENDPOINT) are set up before the modules whose calls they follow load:
// the http instrumentation patches Node's http module as those modules require it. `serve` only.
if (commandOf(process.argv) === 'serve') {
  const { startTracing } = await import(entry('observability/tracing'));
  await startTracing();
}
const { main } = await import(entry('cli/main'));
await main(process.argv);

/** The command named on the command line: its first word that is not an option (nor --config's value). */
function commandOf(argv) {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}
