// The package's entry (`import { createHookline } from 'hookline'`). In a checkout — or a `file:`
// dependency, which npm links to one — it runs the TypeScript sources by Node's type stripping;
// installed from a tarball or a registry, the JavaScript `npm pack` built in dist/ (Node does not
// strip types under node_modules). The types are dist/index.d.ts either way (package.json "types").
import { existsSync } from 'node:fs';

const sources = new URL('./src/index.ts', import.meta.url);
const api = await import(existsSync(sources) ? sources.href : new URL('./dist/index.js', import.meta.url).href);

export const { createHookline, BodyAlreadyReadError, ConfigError } = api;
