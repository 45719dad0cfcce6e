import type { Command } from 'commander';
import { eventDetail, eventSummaryJson } from '../admin/operations.ts';
import { notableSkip } from '../admin/run-view.ts';
import { iso, table, withStore } from './context.ts';
import { checkSource, limitOption } from './options.ts';

export function eventsCommands(program: Command): void {
  program
    .command('events')
    .description('list received events, newest first')
    .option('--source <source>', 'a configured source, or hookline (its own events)')
    .option('--type <type>', 'event type; globs allowed (conversation.*)')
    .option('-q, --search <text>', 'an event id, or text in the payload (an email address)')
    .addOption(limitOption())
    .option('--json', 'one JSON object per line, as GET /admin/events lists them')
    .action(async (o: { source?: string; type?: string; search?: string; limit: number; json?: boolean }, command: Command) =>
      withStore(command, async (store, { config }) => {
        checkSource(command, config, o.source);
        const events = await store.read.events({ source: o.source, type: o.type, search: o.search, limit: o.limit });
        if (o.json) return events.forEach((e) => console.log(JSON.stringify(eventSummaryJson(e))));
        if (events.length === 0) return console.log('no events');
        console.log(table([['SEQ', 'RECEIVED', 'SOURCE', 'TYPE', 'ID', 'STATUS'], ...events.map((e) => [String(e.seq), iso(e.receivedAt), e.source, e.type, e.eventId, `${e.status}${e.test ? ' (test)' : ''}`])]));
        const failed = events.filter((e) => e.status === 'failed').length;
        if (failed > 0) console.log(`\n${failed} set aside (failed): their dispatch failed; \`hookline show <id>\` says why, \`hookline replay <id>\` after a fix`);
      }),
    );

  program
    .command('show')
    .description('an event with its runs, steps, attempts and errors')
    .argument('<id>', 'the event id')
    .option('--json', 'as JSON, as GET /admin/events/:id answers')
    .action(async (id: string, o: { json?: boolean }, command: Command) =>
      withStore(command, async (store) => {
        const detail = await eventDetail(store, id);
        if (!detail) {
          console.error(`no event ${id}`);
          process.exitCode = 1;
          return;
        }
        if (o.json) return console.log(JSON.stringify(detail, null, 2));
        const e = detail.event;
        console.log(`${e.source} ${e.type} ${e.id}  seq ${e.seq}  received ${e.received_at}  ${e.status}${e.test ? '  (test)' : ''}${detail.receipts.length > 1 ? `  (${detail.receipts.length} receipts)` : ''}`);
        if (e.status === 'failed') console.log(`set aside: ${e.dispatch_error}\n  fix the cause, then: hookline replay ${e.id}`);
        else if (e.dispatch_error) console.log(`its last dispatch failed: ${e.dispatch_error}`);
        console.log(JSON.stringify(e.payload, null, 2));
        if (detail.runs.length === 0) console.log('\nno recipe ran for this event');
        for (const run of detail.runs) {
          const skips = (run.steps ?? []).filter(notableSkip);
          const note = skips.map((s) => ` — step ${s.id} skipped: ${s.reason}`).join('');
          console.log(`\nrun ${run.id}  ${run.recipe}  ${run.status}${note}${run.key ? `  key ${run.key}` : ''}${run.generation ? `  replay ${run.generation}` : ''}`);
          if (run.error) console.log(`  error: ${run.error}`);
          for (const step of run.steps ?? []) console.log(`  step ${step.id}: ${stepLine(step)}`);
          for (const a of run.attempts ?? []) {
            console.log(`    attempt ${a.attempt} of ${a.step}: ${a.outcome}${a.status_code ? ` (${a.status_code})` : ''} in ${a.duration_ms} ms${a.error ? ` — ${a.error}` : ''}`);
          }
        }
      }),
    );

}

/** "done  {output}", "skipped — slack not configured", "failed after 8 attempts — <error>". */
function stepLine(step: { status: string; reason: string | null; attempt_count: number; output: unknown }): string {
  if (step.status === 'skipped') return `skipped — ${step.reason ?? 'no reason recorded'}`;
  if (step.status === 'failed' || step.status === 'retrying') {
    return `${step.status} after ${step.attempt_count} attempt${step.attempt_count === 1 ? '' : 's'}${step.reason ? ` — ${step.reason}` : ''}`;
  }
  return `${step.status}  ${JSON.stringify(step.output)}`;
}
