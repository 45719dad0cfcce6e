import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { sourceNames, type SourceName } from '../config/schema.ts';
import { resolveSecrets } from '../receive/dev-secrets.ts';
import { sampleNames } from '../samples/samples.ts';
import { sampleEvent, signedDelivery } from '../samples/test-event.ts';
import { configLabel } from './context.ts';

/** Why the receiver refused the signature, when send and the server do not share a secret. */
function notAccepted(source: SourceName, config: string, devSecretsFile: string | undefined): string {
  const fix = `set the same secret for both: ${source.toUpperCase()}_WEBHOOK_SECRET in the environment of both (or sources.${source}.secrets in their config), or pass --config <the server's config file>`;
  if (devSecretsFile) {
    return `The server does not know the secret: hookline send signed with the development secret generated for ${source} in ${devSecretsFile} (no sources.${source}.secrets in ${config}). To fix it, ${fix}.`;
  }
  return `The server does not accept sources.${source}.secrets of ${config}: it runs with other secrets. To fix it, ${fix}.`;
}

/** `--url`: a URL with a path is the receiver's; a base URL (no path) gets the source's path. */
export function receiverUrl(given: string, sourcePath: string): string {
  if (!URL.canParse(given)) throw new Error(`--url "${given}" is not a URL: give the receiver's base URL, e.g. https://<name>.ngrok.app`);
  const url = new URL(given);
  if (url.pathname !== '/') return given;
  url.pathname = sourcePath;
  return url.toString();
}

export function sendCommand(program: Command): void {
  program
    .command('send')
    .description('sign and POST a test event to a running hookline (the local twin of "Send test event")')
    .argument('<source>', `${sourceNames.join(' or ')}`)
    .argument('<event>', 'an event type (e.g. conversation.opened), a sample name, or a JSON file')
    .option('--url <url>', 'receiver URL, or a base URL such as a tunnel\'s https://<name>.ngrok.app (the source path is added) (default: this config\'s host, port and source path)')
    .action(async (source: string, what: string, options: { url?: string }, command: Command) => {
      if (!sourceNames.includes(source as SourceName)) throw new Error(`unknown source "${source}": expected ${sourceNames.join(' or ')}`);
      const name = source as SourceName;
      const loaded = loadConfig({ file: command.optsWithGlobals().config });
      const { config } = loaded;
      const event = existsSync(what) ? (JSON.parse(readFileSync(what, 'utf8')) as Record<string, unknown>) : sampleEvent(name, what);
      if (!event) throw new Error(`no ${name} sample "${what}"; samples: ${sampleNames(name).join(', ')} (or give a JSON file)`);

      const resolved = resolveSecrets(config);
      const secret = resolved.secrets[name][0];
      if (!secret) throw new Error(`sources.${name}.secrets is empty`);
      const { id, type, body, headers } = signedDelivery(name, event, secret, Date.now());
      const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
      const url = options.url ? receiverUrl(options.url, config.sources[name].path) : `http://${host}:${config.server.port}${config.sources[name].path}`;

      const response = await fetch(url, { method: 'POST', headers, body }).catch((error: Error) => {
        throw new Error(`cannot reach ${url} (${error.cause ? String((error.cause as Error).message) : error.message}); is \`hookline serve\` running?`);
      });
      const text = await response.text();
      console.log(`${response.status} ${text}  (${name} ${type} ${id} -> ${url})`);
      if (!response.ok) process.exitCode = 1;
      if (response.status === 401 && /HL_SIGNATURE_MISMATCH/.test(text)) {
        const generated = resolved.generated.includes(name);
        console.error(notAccepted(name, configLabel(loaded), generated ? resolved.file : undefined));
      }
    });
}
