import { bundledSecretVariable } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { sourceNamed } from '../sources/configured.ts';
import { sampleNames } from '../sources/test-delivery.ts';

/**
 * `hookline serve --tunnel`: an ngrok tunnel to the local port through @ngrok/ngrok (an optional
 * dependency, loaded only then), and the public URL of each source to paste into muro's and MERU's
 * settings. A tunnel is a convenience: whatever goes wrong, hookline keeps serving locally and says
 * in one line why there is no tunnel and what to do.
 */

/** What hookline uses of an ngrok listener. */
export interface TunnelListener {
  url(): string | null;
  close(): Promise<void>;
}

/** The part of @ngrok/ngrok's `forward()` options hookline sets. */
export interface ForwardOptions {
  addr: string;
  authtoken: string;
  forwards_to: string;
  domain?: string;
  server_addr?: string;
}

export type Forward = (options: ForwardOptions) => Promise<TunnelListener>;

export type Tunnel = { url: string; close(): Promise<void> } | { problem: string };

const tokenPage = 'https://dashboard.ngrok.com/get-started/your-authtoken';
const localOnly = 'hookline keeps serving locally.';

/** @ngrok/ngrok's forward(), or undefined when the optional dependency is not installed. */
export async function loadNgrok(): Promise<Forward | undefined> {
  try {
    const ngrok = (await import('@ngrok/ngrok')).default;
    return (options) => ngrok.forward(options);
  } catch {
    return undefined;
  }
}

/**
 * Opens a tunnel from a public ngrok URL to `localUrl`. `domain` is a reserved ngrok domain (the
 * URL then stays the same from one start to the next); NGROK_SERVER_ADDR, a custom ngrok ingress.
 * `load` stands in for loading @ngrok/ngrok in tests.
 */
export async function openTunnel(options: { localUrl: string; env?: NodeJS.ProcessEnv; domain?: string | undefined; load?: () => Promise<Forward | undefined> }): Promise<Tunnel> {
  const env = options.env ?? process.env;
  const port = new URL(options.localUrl).port;
  const yourself = `or run \`ngrok http ${port}\` yourself`;
  const authtoken = env.NGROK_AUTHTOKEN?.trim();
  if (!authtoken) {
    return { problem: `no tunnel: NGROK_AUTHTOKEN is not set. Get your authtoken at ${tokenPage} and start again with NGROK_AUTHTOKEN=<token> hookline serve --tunnel. ${localOnly}` };
  }
  const forward = await (options.load ?? loadNgrok)();
  if (!forward) {
    return { problem: `no tunnel: @ngrok/ngrok is not installed (an optional dependency: no build for this platform, or installed with --omit=optional). Run npm install @ngrok/ngrok, ${yourself}. ${localOnly}` };
  }
  try {
    const listener = await forward({
      addr: new URL(options.localUrl).host,
      authtoken,
      forwards_to: 'hookline',
      ...(options.domain ? { domain: options.domain } : {}),
      ...(env.NGROK_SERVER_ADDR ? { server_addr: env.NGROK_SERVER_ADDR } : {}),
    });
    const url = listener.url();
    if (!url) {
      await listener.close().catch(() => undefined);
      return { problem: `no tunnel: ngrok opened no public URL. ${localOnly}` };
    }
    return { url: url.replace(/\/$/, ''), close: () => listener.close() };
  } catch (error) {
    const { message, code } = error as { message?: string; code?: string };
    const said = `ngrok said: ${(message ?? String(error)).replace(/\s+/g, ' ').trim()}${code ? ` (${code})` : ''}`;
    const fix = /auth|ERR_NGROK_10[5-7]/i.test(`${message} ${code}`) ? `Check NGROK_AUTHTOKEN (${tokenPage})` : 'Check your network and NGROK_AUTHTOKEN';
    return { problem: `no tunnel: ${said}. ${fix}, ${yourself}. ${localOnly}` };
  }
}

/** The lines to print once the tunnel is open: each source's public URL, where it goes, the console. */
export function tunnelSummary(input: { url: string; localUrl: string; config: Config; receiving: readonly string[]; generatedSecrets: readonly string[] }): string[] {
  const { url, config } = input;
  const lines = [`tunnel open: ${url} -> ${input.localUrl} (ngrok); paste these URLs into the providers' settings:`];
  for (const name of input.receiving) {
    const source = sourceNamed(config, name);
    if (!source) continue;
    const { provider, webhookSettings } = source.preset;
    lines.push(`  ${name} webhooks:  POST ${url}${source.config.path}  -> ${webhookSettings ?? `${provider}'s webhook settings`}`);
    if (input.generatedSecrets.includes(name)) {
      const variable = bundledSecretVariable(name);
      const where = variable ? `set ${variable}` : `set sources.${name}.secrets`;
      lines.push(`                   and ${where} to the secret ${provider} shows: until then its deliveries get 401 (hookline signs with a generated secret)`);
    }
  }
  if (input.receiving.length === 0) lines.push('  no webhook routes here (--no-receiver)');
  lines.push(config.admin.token ? `  console:         ${url}/console  (sign in with admin.token)` : '  console:         off (no admin.token)');
  const first = input.receiving.map((name) => sourceNamed(config, name)).find((s) => s && sampleNames(s.scheme).length > 0);
  if (first) lines.push(`  try:  npx hookline send ${first.name} ${first.scheme.samples()[sampleNames(first.scheme)[0]!]!.type} --url ${url}`);
  return lines;
}
