import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { InputError } from '../lifecycle/errors.ts';
import { withStore } from './context.ts';

// The command's own modules load when it runs: every other command starts without them.

export function backupCommand(program: Command): void {
  program
    .command('backup')
    .description('a consistent copy of the live SQLite store, checked by opening it (PostgreSQL: says how to use pg_dump)')
    .argument('<file>', 'where to write the copy (must not exist)')
    .option('--force', 'replace the file if it exists')
    .action(async (file: string, o: { force?: boolean }, command: Command) => {
      const { backupSqlite, pgDumpAdvice } = await import('../lifecycle/backup.ts');
      const { config } = loadConfig({ file: command.optsWithGlobals().config });
      if (!config.store.url.startsWith('sqlite:')) {
        console.error(pgDumpAdvice(config.store.url, file));
        process.exitCode = 1;
        return;
      }
      await withStore(command, async (store) => {
        try {
          const r = await backupSqlite(store, file, o.force === true);
          console.log(`wrote ${r.file}: ${r.bytes} bytes, quick_check ${r.check}; ${r.events} events, ${r.runs} runs, ${r.tickets} tickets`);
          console.log(`restore: stop hookline, copy ${r.file} over the store file (and delete its -wal and -shm files), start hookline`);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          console.error(`hookline: ${error.message}`);
          process.exitCode = 2;
        }
      });
    });
}
