import type { Command } from 'commander';
import { retryMessages, runJson } from '../admin/operations.ts';
import { bulkRetry, parseBulkFilter, type BulkInput } from '../admin/bulk.ts';
import { iso, table, withStore } from './context.ts';
import { checkSource } from './options.ts';
import { filterOptions, hasFilter, printOutcome, progress } from './replay.ts';

export function deadCommand(program: Command): void {
  const dead = program
    .command('dead')
    .description('list dead-lettered runs, or retry them (one, all, or those a filter selects)')
    .option('--retry <run>', 'retry one run (finished steps are not repeated)')
    .option('--retry-all', 'retry every dead run, or those the filters select (--since, --recipe ...)')
    .option('--json', 'one JSON object per line, as GET /admin/runs?status=dead lists them');
  filterOptions(dead, 'dead runs')
    .action(async (o: BulkInput & { retry?: string; retryAll?: boolean; json?: boolean; again?: boolean }, command: Command) =>
      withStore(command, async (store, { config }) => {
        checkSource(command, config, typeof o.source === 'string' ? o.source : undefined);
        const now = Date.now();
        if (o.retry) {
          const result = await store.operations.retryRun(o.retry, now);
          (result === 'retried' ? console.log : console.error)(`${o.retry}: ${retryMessages[result]}`);
          if (result !== 'retried') process.exitCode = 1;
          return;
        }
        if (o.retryAll || hasFilter(o) || o.again) {
          if (!o.retryAll) {
            console.error('hookline dead: the filters and --again go with --retry-all');
            process.exitCode = 2;
            return;
          }
          const parsed = parseBulkFilter(o, 'retry', now);
          if ('error' in parsed) {
            console.error(`hookline dead: ${parsed.error}`);
            process.exitCode = 2;
            return;
          }
          const outcome = await bulkRetry(store, parsed.filter, { again: o.again, now, onProgress: progress('retried') });
          if (o.json) return console.log(JSON.stringify(outcome));
          return printOutcome(outcome, 'retried');
        }
        const runs = await store.read.runs({ status: 'dead', limit: 1000 });
        if (o.json) return runs.forEach((r) => console.log(JSON.stringify(runJson(r))));
        if (runs.length === 0) return console.log('no dead letters');
        const rows = [['RUN', 'RECIPE', 'EVENT', 'SINCE', 'ERROR']];
        for (const r of runs) {
          const event = await store.read.event(r.eventSeq);
          rows.push([r.id, r.recipe, event?.eventId ?? String(r.eventSeq), iso(r.updatedAt), r.error ?? '']);
        }
        console.log(table(rows));
        console.log(`\nretry one: hookline dead --retry <run>    all: hookline dead --retry-all`);
      }),
    );
}
