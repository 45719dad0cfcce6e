import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { sourceNames, type SourceName } from '../config/schema.ts';
import { resolveSecrets } from '../receive/dev-secrets.ts';
import { sampleNames } from '../samples/samples.ts';
import { sampleEvent, signedDelivery } from '../samples/test-event.ts';

export function sendCommand(program: Command): void {
  program
    .command('send')
    .description('sign and POST a test event to a running hookline (the local twin of "Send test event")')
    .argument('<source>', `${sourceNames.join(' or ')}`)
    .argument('<event>', 'an event type (e.g. conversation.opened), a sample name, or a JSON file')
    .option('--url <url>', 'receiver URL (default: this config\'s host, port and source path)')
    .action(async (source: string, what: string, options: { url?: string }, command: Command) => {
      if (!sourceNames.includes(source as SourceName)) throw new Error(`unknown source "${source}": expected ${sourceNames.join(' or ')}`);
      const name = source as SourceName;
      const { config } = loadConfig({ file: command.optsWithGlobals().config });
      const event = existsSync(what) ? (JSON.parse(readFileSync(what, 'utf8')) as Record<string, unknown>) : sampleEvent(name, what);
      if (!event) throw new Error(`no ${name} sample "${what}"; samples: ${sampleNames(name).join(', ')} (or give a JSON file)`);

      const secret = resolveSecrets(config).secrets[name][0];
      if (!secret) throw new Error(`sources.${name}.secrets is empty`);
      const { id, type, body, headers } = signedDelivery(name, event, secret, Date.now());
      const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
      const url = options.url ?? `http://${host}:${config.server.port}${config.sources[name].path}`;

      const response = await fetch(url, { method: 'POST', headers, body }).catch((error: Error) => {
        throw new Error(`cannot reach ${url} (${error.cause ? String((error.cause as Error).message) : error.message}); is \`hookline serve\` running?`);
      });
      console.log(`${response.status} ${await response.text()}  (${name} ${type} ${id} -> ${url})`);
      if (!response.ok) process.exitCode = 1;
    });
}
