import type { Command } from 'commander';
import { retryMessages, runJson } from '../admin/operations.ts';
import { iso, table, withStore } from './context.ts';

export function deadCommand(program: Command): void {
  program
    .command('dead')
    .description('list dead-lettered runs, or retry them')
    .option('--retry <run>', 'retry one run (finished steps are not repeated)')
    .option('--retry-all', 'retry every dead run')
    .option('--json', 'one JSON object per line, as GET /admin/runs?status=dead lists them')
    .action(async (o: { retry?: string; retryAll?: boolean; json?: boolean }, command: Command) =>
      withStore(command, async (store) => {
        const now = Date.now();
        if (o.retry) {
          const result = await store.operations.retryRun(o.retry, now);
          (result === 'retried' ? console.log : console.error)(`${o.retry}: ${retryMessages[result]}`);
          if (result !== 'retried') process.exitCode = 1;
          return;
        }
        if (o.retryAll) return console.log(`${await store.operations.retryAllDead(now)} dead runs queued again`);
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
