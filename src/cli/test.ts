import type { Command } from 'commander';
import { actionRegistry } from '../actions/registry.ts';
import { loadConfig } from '../config/load.ts';
import { formatDiagnostic } from '../errors.ts';
import { loadRecipes } from '../recipes/load.ts';
import { runRecipeTests } from '../engine/test-runner.ts';

export function testCommand(program: Command): void {
  program
    .command('test')
    .description("run each recipe's test cases offline (no network, nothing stored)")
    .argument('[recipes...]', 'only these recipes')
    .action(async (only: string[], _o: unknown, command: Command) => {
      const { config } = loadConfig({ file: command.optsWithGlobals().config });
      const set = loadRecipes(config.recipes, actionRegistry());
      for (const d of set.diagnostics) console.error(formatDiagnostic(d));
      const results = await runRecipeTests(set, config, only);
      for (const r of results) {
        console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.recipe} › ${r.name}`);
        for (const f of r.failures) console.log(`        ${f}`);
        if (!r.ok) console.log(`        actions: ${JSON.stringify(r.actions)}`);
      }
      const failed = results.filter((r) => !r.ok).length;
      console.log(`\n${results.length - failed} passed, ${failed} failed${set.diagnostics.length ? `, ${set.refused.length} recipe file(s) refused` : ''}`);
      if (failed > 0 || set.diagnostics.length > 0) process.exitCode = 1;
    });
}
