import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { actionRegistry } from '../actions/registry.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError, formatDiagnostic } from '../errors.ts';
import { devSecretRefusal, devSecretRisk, devSecretWarning, sourcesWithoutSecrets } from '../receive/dev-secrets.ts';
import { eventTypeWarnings } from '../recipes/event-types.ts';
import { eventSourcesOf } from '../sources/configured.ts';
import { loadRecipes, recipeFiles } from '../recipes/load.ts';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate the config and every recipe; exits non-zero listing every error as file:line:col')
    .action(async (_options: unknown, command: Command) => {
      let errors = 0;
      let warnings = 0;
      let config: Config | undefined;
      try {
        const loaded = loadConfig({ file: command.optsWithGlobals().config });
        const { file, isExample } = loaded;
        config = loaded.config;
        console.log(`ok    config ${file}${isExample ? ' (bundled defaults)' : ''}`);
        const risk = devSecretRisk(config, sourcesWithoutSecrets(config));
        if (risk?.production) {
          console.error(`${file}: serve would refuse to start with ${devSecretRefusal(risk)}`);
          errors++;
        } else if (risk) {
          console.error(devSecretWarning(risk, config.server.host));
          warnings++;
        }
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        console.error(error.message);
        errors += error.diagnostics.length;
      }
      if (config) {
        const recipesDir = config.recipes;
        const set = loadRecipes(recipesDir, actionRegistry());
        for (const recipe of set.recipes.values()) console.log(`ok    recipe ${recipe.name} (${recipe.file})`);
        for (const d of set.diagnostics) console.error(formatDiagnostic(d));
        errors += set.diagnostics.length;
        for (const recipe of set.recipes.values()) {
          for (const d of eventTypeWarnings(recipe.file, readFileSync(recipe.file, 'utf8'), eventSourcesOf(config))) {
            console.error(formatDiagnostic({ ...d, message: `warning: ${d.message}` }));
            warnings++;
          }
        }
        if (recipeFiles(recipesDir).length === 0) console.log(`note  no recipe files in ${recipesDir}`);
      }
      // Warnings alone exit 0: they point at likely mistakes that still run.
      const counts = [plural(errors, 'error'), plural(warnings, 'warning')].filter((c) => !c.startsWith('0 '));
      if (counts.length > 0) console.error(`\n${counts.join(', ')}`);
      if (errors > 0) process.exitCode = 1;
    });
}
