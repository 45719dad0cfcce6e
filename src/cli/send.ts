import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bundledSecretVariable, loadConfig } from '../config/load.ts';
import { resolveSecrets } from '../receive/dev-secrets.ts';
import { sourceNamed, sourcesOf } from '../sources/configured.ts';
import { bodyDelivery, sampleDelivery, sampleNames, signDelivery } from '../sources/test-delivery.ts';
import { configLabel } from './context.ts';

/** Why the receiver refused the signature, when send and the server do not share a secret. */
function notAccepted(source: string, config: string, devSecretsFile: string | undefined): string {
  const variable = bundledSecretVariable(source);
  const both = variable ? `${variable} in the environment of both (or sources.${source}.secrets in their config)` : `sources.${source}.secrets in the config of both`;
  const fix = `set the same secret for both: ${both}, or pass --config <the server's config file>`;
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
    .description('sign and POST a test event to a running hookline, as the source\'s provider signs (the local twin of "Send test event")')
    .argument('<source>', 'a configured source (muro, meru, or any under sources:)')
    .argument('<event>', 'an event type (e.g. conversation.opened), a sample name, or a JSON file')
    .option('--url <url>', 'receiver URL, or a base URL such as a tunnel\'s https://<name>.ngrok.app (the source path is added) (default: this config\'s host, port and source path)')
    .option('--type <type>', 'the event type of a JSON file, for providers that send it in a header (github, shopify)')
    .action(async (name: string, what: string, options: { url?: string; type?: string }, command: Command) => {
      const loaded = loadConfig({ file: command.optsWithGlobals().config });
      const { config } = loaded;
      const source = sourceNamed(config, name);
      if (!source) throw new Error(`unknown source "${name}": expected one of ${sourcesOf(config).map((s) => s.name).join(', ')} (the sources of ${configLabel(loaded)})`);
      const { scheme } = source;
      const nowSec = Math.floor(Date.now() / 1000);
      const delivery = existsSync(what)
        ? await bodyDelivery(scheme, JSON.parse(readFileSync(what, 'utf8')) as Record<string, unknown>, options.type)
        : sampleDelivery(scheme, what, nowSec);
      if (!delivery) {
        const samples = sampleNames(scheme);
        throw new Error(`no ${name} sample or type "${what}"; ${samples.length > 0 ? `samples: ${samples.join(', ')}` : 'no samples'}${scheme.eventTypes ? `; types: ${scheme.eventTypes.join(', ')}` : ''} (or give a JSON file)`);
      }

      const resolved = resolveSecrets(config);
      const secret = (resolved.secrets[name] ?? source.config.secrets)[0];
      if (!secret) throw new Error(`sources.${name}.secrets is empty`);
      const signed = signDelivery(scheme, delivery, secret, nowSec);
      const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
      const url = options.url ? receiverUrl(options.url, source.config.path) : `http://${host}:${config.server.port}${source.config.path}`;

      const response = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body }).catch((error: Error) => {
        throw new Error(`cannot reach ${url} (${error.cause ? String((error.cause as Error).message) : error.message}); is \`hookline serve\` running?`);
      });
      const text = await response.text();
      console.log(`${response.status} ${text}  (${name} ${signed.type} ${signed.id} -> ${url})`);
      if (!response.ok) process.exitCode = 1;
      if (response.status === 401 && /HL_SIGNATURE_MISMATCH/.test(text)) {
        const generated = resolved.generated.includes(name);
        console.error(notAccepted(name, configLabel(loaded), generated ? resolved.file : undefined));
      }
    });
}
