import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../lifecycle/errors.ts';
import { systemClock } from '../util/clock.ts';
import { iso, table, withStore } from './context.ts';
import { limitOption } from './options.ts';

/** Who asked, for the audit: the user running the CLI. */
function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function forgetCommand(program: Command): void {
  program
    .command('forget')
    .description("erase a person's data everywhere (events, transcripts, tickets, summaries, attachments) and record that it was done")
    .option('--email <addr>', 'the email address of the person')
    .option('--dry-run', 'count what would be erased, erase nothing')
    .option('--list', 'list the erasures done (the audit: who, when, how many rows)')
    .addOption(limitOption())
    .option('--json', 'as JSON, as POST /admin/forget and GET /admin/erasures answer')
    .action(async (o: { email?: string; dryRun?: boolean; list?: boolean; limit: number; json?: boolean }, command: Command) => {
      // The command's own modules (expressions for the conversations among them) load when it runs.
      const { erasureJson, forgetJson } = await import('../admin/lifecycle.ts');
      const { describeCounts, forget } = await import('../lifecycle/forget.ts');
      if (!o.list && o.email === undefined) command.error("error: required option '--email <addr>' not specified (or --list)", { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
      await withStore(command, async (store, { config }) => {
        if (o.list) {
          const entries = await store.erasure.erasures(o.limit);
          if (o.json) return entries.forEach((e) => console.log(JSON.stringify(erasureJson(e))));
          if (entries.length === 0) return console.log('no erasures');
          console.log(table([['WHEN', 'BY', 'REQUEST', 'ERASED'], ...entries.map((e) => [iso(e.requestedAt), e.requestedBy, e.id, describeCounts(e.counts)])]));
          return;
        }
        try {
          const result = await forget({ store, config, clock: systemClock }, { email: o.email, requestedBy: cliUser(), dryRun: o.dryRun === true });
          if (o.json) return console.log(JSON.stringify(forgetJson(result), null, 2));
          if (result.dryRun) console.log(`dry run, nothing erased; would erase: ${describeCounts(result.counts)}`);
          else console.log(`erased: ${describeCounts(result.counts)}\naudit entry ${result.id} (hookline forget --list)`);
          if (result.filesLeft > 0) {
            console.error(`${result.filesLeft} attachment files could not be deleted (permissions?): see ${config.attachments}`);
            process.exitCode = 1;
          }
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          console.error(`hookline: ${error.message}`);
          process.exitCode = 2;
        }
      });
    });
}
