import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { sourcesOf } from '../sources/configured.ts';
import { ownSource } from '../sources/hookline/index.ts';
import { configLabel, table } from './context.ts';

/** `hookline sources`: what the config receives, and how each provider's deliveries are checked. */
export function sourcesCommand(program: Command): void {
  program
    .command('sources')
    .description('list the configured sources: preset, path, secrets, replay window, known event types')
    .action(async (_o: unknown, command: Command) => {
      const loaded = loadConfig({ file: command.optsWithGlobals().config });
      console.error(`using config ${configLabel(loaded)}`);
      const rows = sourcesOf(loaded.config).map((s) => [
        s.name,
        s.preset.name,
        s.config.enabled ? s.config.path : '(disabled)',
        s.config.secrets.length === 0 ? 'none (a development one is generated)' : `${s.config.secrets.length} configured`,
        s.scheme.replayWindow ? `±${s.config.tolerance / 1000}s` : 'none (no signed timestamp)',
        s.scheme.eventTypes ? s.scheme.eventTypes.join(', ') : 'any',
      ]);
      console.log(table([['SOURCE', 'PRESET', 'PATH', 'SECRETS', 'REPLAY WINDOW', 'TYPES'], ...rows, [ownSource, ownSource, '(not received over HTTP)', '-', '-', 'run.dead, source.rejecting, source.recovered']]));
    });
}
