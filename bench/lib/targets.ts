import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type Server } from './spawn.ts';

export const SECRET = 'bench-muro-secret';
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
  { storeUrl, recipes = {}, serverKeys = '', env }: { storeUrl?: string | undefined; recipes?: Record<string, string>; serverKeys?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Server & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  mkdirSync(join(dir, 'recipes'));
  for (const [file, text] of Object.entries(recipes)) writeFileSync(join(dir, 'recipes', file), text);
  const config = join(dir, 'hookline.yaml');
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: 0${serverKeys ? `, ${serverKeys}` : ''} }
store: { url: ${JSON.stringify(storeUrl ?? `sqlite:${join(dir, 'hookline.db')}`)} }
sources: { muro: { secrets: ["${SECRET}"] }, meru: { secrets: ["whsec_${SECRET}"] } }
recipes: ${join(dir, 'recipes')}
data_dir: ${dir}
attachments: ${join(dir, 'attachments')}
log: { level: warn }
${yaml}`,
  );
  const server = await startServer([join(root, 'bin/hookline.js'), 'serve', '--config', config, ...args], { cwd: dir, ...(env && { env }) }).catch((err: unknown) => {
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
