import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type Server } from './spawn.ts';
import pg from 'pg';

export const SECRET = 'bench-muro-secret';
/** The Standard Webhooks source's secret (whsec_ + base64 of 24 bytes, as Svix issues them). */
export const SW_SECRET = `whsec_${Buffer.from('bench-standard-webhooks!').toString('base64')}`;
const root = fileURLToPath(new URL('../../', import.meta.url));

export const bare = () => startServer([join(root, 'bench/servers/bare.ts')]);
export const expressPeer = () => startServer([join(root, 'bench/servers/express-peer.ts')], { env: { MURO_WEBHOOK_SECRET: SECRET } });

/**
 * `hookline serve` in a fresh folder; `yaml` is appended to a config with the bench secret. The store
 * is a SQLite file in that folder unless `storeUrl` names another (PostgreSQL). `recipes` (file name →
 * YAML) are in the recipes folder before it starts; `serverKeys` adds keys to the server section
 * (`read_timeout: 5s`); `env` is added to its environment (OTEL_EXPORTER_OTLP_ENDPOINT).
 */
export async function hookline(
  yaml = '',
  args: string[] = [],
  options: { storeUrl?: string | undefined; recipes?: Record<string, string>; serverKeys?: string; muroKeys?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Server & { dir: string }> {
  const { dir, config } = benchConfig(yaml, options);
  return inFolder(dir, startServer([join(root, 'bin/hookline.js'), 'serve', '--config', config, ...args], { cwd: dir, ...(options.env && { env: options.env }) }));
}

/** hookline's express adapter in an express 5 app (bench/servers/express-hookline.ts), on the same config as `hookline`: receiver only. */
export async function expressHookline(yaml = ''): Promise<Server & { dir: string }> {
  const { dir, config } = benchConfig(yaml);
  return inFolder(dir, startServer([join(root, 'bench/servers/express-hookline.ts')], { cwd: dir, env: { HOOKLINE_CONFIG: config } }));
}

async function inFolder(dir: string, starting: Promise<Server>): Promise<Server & { dir: string }> {
  const server = await starting.catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...server,
    dir,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh folder with a hookline.yaml holding the bench secrets; `yaml` is appended to it. */
function benchConfig(
  yaml = '',
  { storeUrl, recipes = {}, serverKeys = '', muroKeys = '' }: { storeUrl?: string | undefined; recipes?: Record<string, string>; serverKeys?: string; muroKeys?: string } = {},
): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  mkdirSync(join(dir, 'recipes'));
  for (const [file, text] of Object.entries(recipes)) writeFileSync(join(dir, 'recipes', file), text);
  const config = join(dir, 'hookline.yaml');
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: 0${serverKeys ? `, ${serverKeys}` : ''} }
store: { url: ${JSON.stringify(storeUrl ?? `sqlite:${join(dir, 'hookline.db')}`)} }
sources:
  muro: { secrets: ["${SECRET}"]${muroKeys ? `, ${muroKeys}` : ''} }
  meru: { secrets: ["whsec_${SECRET}"] }
  app: { preset: standard-webhooks, secrets: ["${SW_SECRET}"] }
recipes: ${join(dir, 'recipes')}
data_dir: ${dir}
attachments: ${join(dir, 'attachments')}
log: { level: warn }
${yaml}`,
  );
  return { dir, config };
}

/** One statement on a PostgreSQL server (CREATE/DROP DATABASE for a trial's fresh database). */
export async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
