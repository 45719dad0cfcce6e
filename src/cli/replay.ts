import type { Command } from 'commander';
import { actionRegistry } from '../actions/registry.ts';
import { bulkReplay, dryRunReplay, parseBulkFilter, type BulkInput, type BulkOutcome } from '../admin/bulk.ts';
import { dryRunDeps } from '../admin/dry-run-deps.ts';
import { replayEvent } from '../admin/operations.ts';
import type { DryRunEvent } from '../engine/dry-run.ts';
import { formatDiagnostic } from '../errors.ts';
import { loadRecipes } from '../recipes/load.ts';
import { systemClock } from '../util/clock.ts';
import { withStore } from './context.ts';
import { checkSource } from './options.ts';

type BulkFlags = BulkInput & { again?: boolean; dryRun?: boolean; json?: boolean };

/** The filter flags of `replay` and `dead --retry-all`. */
export function filterOptions(command: Command, what: 'events' | 'dead runs'): Command {
  const when = what === 'events' ? 'events received' : 'runs that went dead';
  const whose = what === 'events' ? 'events' : 'runs whose event is';
  return command
    .option('--since <time>', `${when} since: an ISO time or a duration ago (2h, 30m, 7d)`)
    .option('--until <time>', `${when} before: an ISO time or a duration ago`)
    .option('--source <source>', `${whose} of this source (a configured one, or hookline)`)
    .option('--type <type>', `${whose} of this type; globs allowed (conversation.*)`)
    .option('--recipe <recipe>', what === 'events' ? 'events with a run of this recipe' : 'runs of this recipe')
    .option('--again', 'include what an earlier bulk operation already did (skipped otherwise)');
}

export function hasFilter(o: BulkInput): boolean {
  return ['since', 'until', 'source', 'type', 'recipe', 'status'].some((k) => o[k as keyof BulkInput] !== undefined);
}

/** "12/40" on stderr, at most every 100 items and at the end, for big sets. */
export function progress(label: string) {
  return (n: number, total: number) => {
    if (total >= 100 && (n % 100 === 0 || n === total)) console.error(`${label} ${n}/${total}`);
  };
}

export function printOutcome(o: BulkOutcome, verb: string): void {
  const parts = [`${o.done} ${verb}`];
  if (o.skipped_already > 0) parts.push(`${o.skipped_already} skipped: already ${verb} by an earlier bulk operation (use --again to include them)`);
  if (o.not_done > 0) {
    const reasons = [...new Set(o.items.filter((i) => !['replayed', 'retried', 'already_done'].includes(i.outcome)).map((i) => i.outcome))];
    parts.push(`${o.not_done} not ${verb} (${reasons.join(', ')})`);
  }
  console.log(`${o.matched} matched: ${parts.join('; ')}${o.operation ? `  [operation ${o.operation}]` : ''}`);
}

export function replayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description('run an event through the recipes again, or every event a filter selects (--since, --type ...); --dry-run shows what the recipes would do')
    .argument('[id]', 'the event id (or give filters instead)')
    .option('--status <status>', "events with a run in this status (of --recipe, if given): dead, done, failed, ...; or set_aside");
  filterOptions(command, 'events')
    .option('--json', 'the outcome as JSON, as POST /admin/replay answers (a dry run: one event per line)')
    .option('--dry-run', 'evaluate the recipes in force against the selected events and print what each step would send; stores nothing, calls nothing')
    .action(async (id: string | undefined, o: BulkFlags, cmd: Command) =>
      withStore(cmd, async (store, { config }) => {
        checkSource(cmd, config, typeof o.source === 'string' ? o.source : undefined);
        if (id !== undefined && hasFilter(o)) return usage(cmd, 'give an event id or filters, not both');
        if (id === undefined && !hasFilter(o)) return usage(cmd, 'give an event id, or filters (--since, --until, --source, --type, --recipe, --status) to replay many');
        if (id !== undefined && !o.dryRun) return replayOne(store, id);
        const now = systemClock.now();
        const parsed = id !== undefined ? { filter: {} } : parseBulkFilter(o, 'replay', now);
        if ('error' in parsed) return usage(cmd, parsed.error);
        if (o.dryRun) {
          const set = loadRecipes(config.recipes, actionRegistry());
          for (const d of set.diagnostics) console.error(`recipe refused: ${formatDiagnostic(d)}`);
          const deps = dryRunDeps(config, store, set, systemClock);
          if (id !== undefined) {
            const [event] = await store.read.receipts(id);
            if (!event) return missing(id);
            const { dryRunEvent } = await import('../engine/dry-run.ts');
            const result = await dryRunEvent(event, deps);
            return o.json ? console.log(JSON.stringify(result)) : printDryRun(result);
          }
          const result = await dryRunReplay(store, parsed.filter, deps, (event, n, total) => {
            if (o.json) console.log(JSON.stringify(event));
            else printDryRun(event);
            progress('evaluated')(n, total);
          });
          console.error(`dry run: ${result.matched} events, ${result.would_start} runs would start; nothing was stored or sent`);
          return;
        }
        const outcome = await bulkReplay(store, parsed.filter, { again: o.again, now, onProgress: progress('replayed') });
        if (o.json) return console.log(JSON.stringify(outcome));
        printOutcome(outcome, 'replayed');
        if (outcome.done > 0) console.log('a running hookline picks them up');
      }),
    );
}

async function replayOne(store: Parameters<typeof replayEvent>[0], id: string): Promise<void> {
  const replayed = await replayEvent(store, id);
  if (!replayed) return missing(id);
  console.log(
    replayed.retried
      ? `dispatching ${id} again (seq ${replayed.seq}, set aside before); a running hookline picks it up`
      : `replaying ${id} (seq ${replayed.seq}, replay ${replayed.generation}); a running hookline picks it up`,
  );
}

function missing(id: string): void {
  console.error(`no event ${id}`);
  process.exitCode = 1;
}

function usage(cmd: Command, message: string): void {
  console.error(`hookline ${cmd.name()}: ${message}`);
  process.exitCode = 2;
}

/** An event and, per recipe that would run, each step and what it would send. */
export function printDryRun(e: DryRunEvent): void {
  console.log(`${e.source}/${e.type} ${e.id}  seq ${e.seq}  received ${e.received_at}`);
  if (e.recipes.length === 0) console.log('  no recipe would run');
  for (const r of e.recipes) {
    console.log(`  ${r.recipe} (version ${r.version})${r.error ? ` — would fail: ${r.error}` : ''}`);
    for (const s of r.steps) {
      const head = `    ${s.id} ${s.action}: ${s.outcome.replace('_', ' ')}${s.reason ? ` — ${s.reason}` : ''}`;
      console.log(s.sends === undefined ? head : `${head}\n      ${JSON.stringify(s.sends)}`);
    }
  }
  if (e.if_false.length > 0) console.log(`  if false: ${e.if_false.join(', ')}`);
}
