import { Option, type Command } from 'commander';
import { InputError } from '../lifecycle/errors.ts';
import type { ExportFormat } from '../lifecycle/export.ts';
import { withStore } from './context.ts';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('stream events, runs, tickets, summaries or a store table for the analytics warehouse (constant memory)')
    .argument('<what>', 'events | runs | tickets | summaries | table:<name> (a table of the store action)')
    .option('--since <time>', 'from this time on (inclusive): 2026-11-01, 2026-11-01T12:00:00Z, or 7d back from now')
    .option('--until <time>', 'before this time (exclusive), same forms')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv'] satisfies ExportFormat[]).default('jsonl'))
    .option('-o, --output <file>', 'write to this file (must not exist) instead of stdout')
    .action(async (what: string, o: { since?: string; until?: string; format: ExportFormat; output?: string }, command: Command) => {
      // The command's own modules (the CSV writer among them) load when it runs.
      const { exportToFile, parseKind, parseTime, writeExport } = await import('../lifecycle/export.ts');
      let options;
      try {
        const now = Date.now();
        options = {
          kind: parseKind(what),
          since: o.since === undefined ? undefined : parseTime(o.since, now, '--since'),
          until: o.until === undefined ? undefined : parseTime(o.until, now, '--until'),
          format: o.format,
        };
      } catch (error) {
        if (error instanceof InputError) command.error(`error: ${error.message}`, { exitCode: 2, code: 'commander.invalidArgument' });
        throw error;
      }
      await withStore(command, async (store) => {
        try {
          const rows = o.output ? await exportToFile(store, options, o.output) : await writeExport(store, options, process.stdout, false);
          console.error(`exported ${rows} rows${o.output ? ` to ${o.output}` : ''}`);
        } catch (error) {
          // The reader went away (| head): stop reading, as a pipe's writer does, without an error.
          if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
          if (!(error instanceof InputError)) throw error;
          console.error(`hookline: ${error.message}`);
          process.exitCode = 2;
        }
      });
    });
}
