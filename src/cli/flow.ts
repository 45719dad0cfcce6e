import type { Command } from 'commander';
import { actionRegistry } from '../actions/registry.ts';
import { flowJson, pauseMessages, pauseRecipe, resumeRecipe, type PauseResult } from '../flow/pause.ts';
import { loadRecipes } from '../recipes/load.ts';
import { iso, table, withStore } from './context.ts';

/** `hookline pause|resume <recipe>` and `hookline flow` (what flow control holds), on the store directly as `hookline dead` does. */
export function flowCommands(program: Command): void {
  const say = (recipe: string, result: PauseResult) => {
    (result === 'not_found' ? console.error : console.log)(`${recipe}: ${pauseMessages[result]}`);
    if (result === 'not_found') process.exitCode = 1;
  };
  program
    .command('pause')
    .description('pause a recipe: its runs are created and held, on every instance and across restarts, until resumed')
    .argument('<recipe>', 'recipe name')
    .action(async (recipe: string, _o: unknown, command: Command) =>
      withStore(command, async (store, { config }) => {
        const set = loadRecipes(config.recipes, actionRegistry());
        say(recipe, await pauseRecipe(store, (name) => set.recipes.has(name), recipe, Date.now()));
      }),
    );
  program
    .command('resume')
    .description('resume a paused recipe: its held runs run in their order')
    .argument('<recipe>', 'recipe name')
    .action(async (recipe: string, _o: unknown, command: Command) =>
      withStore(command, async (store, { config }) => {
        const set = loadRecipes(config.recipes, actionRegistry());
        // The running instances notice at their next poll (worker.poll); on PostgreSQL at once.
        say(recipe, await resumeRecipe(store, (name) => set.recipes.has(name), recipe));
      }),
    );
  program
    .command('flow')
    .description('paused recipes, open circuits and runs held by flow control')
    .option('--json', 'one JSON object, as GET /admin/flow answers')
    .action(async (o: { json?: boolean }, command: Command) =>
      withStore(command, async (store) => {
        const flow = await flowJson(store);
        if (o.json) return console.log(JSON.stringify(flow));
        if (flow.paused.length === 0) console.log('no recipe paused');
        else console.log(table([['PAUSED RECIPE', 'SINCE', 'HELD RUNS'], ...(await store.flow.paused()).map((p) => [p.recipe, iso(p.pausedAt), String(p.held)])]));
        const circuits = flow.circuits.filter((c) => c.state === 'open' || c.failures > 0);
        console.log(circuits.length === 0 ? 'every circuit closed' : table([['CONNECTION', 'CIRCUIT', 'FAILURES', 'PROBE AFTER'], ...circuits.map((c) => [c.connection, c.state, String(c.failures), c.reopen_at ?? ''])]));
        const held = Object.entries(flow.held);
        if (held.length > 0) console.log(table([['HELD BY', 'RUNS'], ...held.map(([why, n]) => [why, String(n)])]));
      }),
    );
}
