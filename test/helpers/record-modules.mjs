// Loaded with --import: records every module the process resolves, written to RECORD_MODULES at exit.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const urls = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    urls.add(resolved.url);
    return resolved;
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_MODULES, [...urls].join('\n')));
