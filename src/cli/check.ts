import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate the config (and recipes); exits non-zero listing every error as file:line:col')
    .action(async (_options: unknown, command: Command) => {
      try {
        const { file, isExample } = loadConfig({ file: command.optsWithGlobals().config });
        console.log(`ok  config ${file}${isExample ? ' (bundled defaults)' : ''}`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        console.error(error.message);
        console.error(`\n${error.diagnostics.length} error${error.diagnostics.length === 1 ? '' : 's'}`);
        process.exitCode = 1;
      }
    });
}
