import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Config } from '../config/schema.ts';
import { eventSourcesOf } from '../sources/configured.ts';

/** `-n, --limit <n>`: a whole number from 1 to 1000, as the admin API allows. */
export function limitOption(fallback = 50): Option {
  return new Option('-n, --limit <n>', 'how many').default(fallback).argParser((value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
    return n;
  });
}

/**
 * `--source`: one of the config's sources or hookline's own. The choices come from the config, which
 * is read after the command line is parsed: a value not among them is the same usage error (exit 2).
 */
export function checkSource(command: Command, config: Config, source: string | undefined): void {
  if (source === undefined) return;
  const names = eventSourcesOf(config).map((s) => s.name);
  if (!names.includes(source)) {
    command.error(`error: option '--source <source>' argument '${source}' is invalid. Allowed choices are ${names.join(', ')}.`, { exitCode: 2, code: 'commander.invalidArgument' });
  }
}
