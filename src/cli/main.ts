import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../errors.ts';
import { backupCommand } from './backup.ts';
import { checkCommand } from './check.ts';
import { deadCommand } from './dead.ts';
import { eventsCommands } from './events.ts';
import { exportCommand } from './export.ts';
import { forgetCommand } from './forget.ts';
import { flowCommands } from './flow.ts';
import { replayCommand } from './replay.ts';
import { sendCommand } from './send.ts';
import { serveCommand } from './serve.ts';
import { sourcesCommand } from './sources.ts';
import { statsCommand } from './stats.ts';
import { testCommand } from './test.ts';
import { ticketsCommand } from './tickets.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('hookline')
    .description('Signed webhooks in (muro, MERU, and any other by configuration), YAML recipes out.')
    .version(pkg.version)
    .option('-c, --config <file>', 'config file (default: $HOOKLINE_CONFIG, ./hookline.yaml, else the bundled example)')
    .showHelpAfterError()
    // Before the commands are added, so that they inherit it: main() decides the exit code.
    .exitOverride();
  serveCommand(program);
  checkCommand(program);
  sendCommand(program);
  sourcesCommand(program);
  eventsCommands(program);
  replayCommand(program);
  deadCommand(program);
  testCommand(program);
  ticketsCommand(program);
  backupCommand(program);
  forgetCommand(program);
  exportCommand(program);
  statsCommand(program);
  flowCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    // Usage errors (an unknown option, a value not among the choices) exit 2, as is customary;
    // help and version keep commander's own code.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 || error.code === 'commander.help' ? error.exitCode : 2);
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    console.error(`hookline: ${(error as Error).message}`);
    process.exit(1);
  }
}
