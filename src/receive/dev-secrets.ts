import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, SourceName } from '../config/schema.ts';
import { sourceNames } from '../config/schema.ts';

export interface SourceSecrets {
  secrets: Record<SourceName, string[]>;
  /** Sources that run on a generated development secret, and the file that holds it. */
  generated: SourceName[];
  file: string;
}

/**
 * A source without configured secrets never accepts unsigned events: it gets a random development
 * secret, kept in <data_dir>/dev-secrets.json (mode 0600) so that `hookline send` can sign with it.
 */
export function resolveSecrets(config: Config): SourceSecrets {
  const file = join(config.data_dir, 'dev-secrets.json');
  const missing = sourceNames.filter((name) => config.sources[name].secrets.length === 0);
  const secrets = Object.fromEntries(sourceNames.map((name) => [name, config.sources[name].secrets])) as Record<SourceName, string[]>;
  if (missing.length === 0) return { secrets, generated: [], file };

  const stored: Partial<Record<SourceName, string>> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  for (const name of missing) {
    if (!stored[name]) {
      stored[name] = name === 'meru' ? `whsec_${randomBytes(24).toString('hex')}` : randomBytes(24).toString('hex');
      changed = true;
    }
    secrets[name] = [stored[name]!];
  }
  if (changed) {
    mkdirSync(config.data_dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return { secrets, generated: missing, file };
}

/** The enabled sources that have no configured secret: they would run on a generated one. */
export function sourcesWithoutSecrets(config: Config): SourceName[] {
  return sourceNames.filter((name) => config.sources[name].enabled && config.sources[name].secrets.length === 0);
}

/**
 * Sources on a generated secret where a real deployment is configured: every real delivery would
 * get 401, and MERU does not retry a 4xx. `production` (NODE_ENV=production) makes it a refusal.
 */
export interface DevSecretRisk {
  sources: SourceName[];
  /** Why this looks like a deployment: a non-loopback host, NODE_ENV=production. */
  reasons: string[];
  production: boolean;
}

const loopback = /^(localhost|127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;

export function devSecretRisk(config: Config, generated: readonly SourceName[], env: NodeJS.ProcessEnv = process.env): DevSecretRisk | undefined {
  if (generated.length === 0) return undefined;
  const production = env.NODE_ENV === 'production';
  const reasons = [
    ...(loopback.test(config.server.host) ? [] : [`server.host is ${config.server.host}, not loopback`]),
    ...(production ? ['NODE_ENV=production'] : []),
  ];
  return reasons.length === 0 ? undefined : { sources: [...generated], reasons, production };
}

const providers: Record<SourceName, string> = { muro: 'muro', meru: 'MERU' };

/** What to do about it, naming each source's variable (the bundled defaults read <SOURCE>_WEBHOOK_SECRET). */
function remedy(sources: readonly SourceName[]): string {
  const vars = sources.map((s) => `${s.toUpperCase()}_WEBHOOK_SECRET`).join(' and ');
  if (sources.length > 1) {
    return `Set ${vars} (or sources.<name>.secrets) to the secrets the providers show, or sources.<name>.enabled: false for a source you do not receive.`;
  }
  const [s] = sources;
  return `Set ${vars} (or sources.${s}.secrets) to the secret ${providers[s!]} shows, or sources.${s}.enabled: false if you do not receive ${s}.`;
}

function consequence(sources: readonly SourceName[], would = false): string {
  const who = sources.map((s) => providers[s]).join(' and ');
  const lost = sources.includes('meru') ? ` (MERU does not retry a 4xx: that mail ${would ? 'would be' : 'is'} lost)` : '';
  return `every real ${who} delivery ${would ? 'would get' : 'gets'} 401${lost}`;
}

function onGenerated(sources: readonly SourceName[], would = false): string {
  const one = sources.length === 1;
  const verb = would ? 'would run' : one ? 'runs' : 'run';
  return `${sources.join(', ')} ${verb} on ${one ? 'a generated development secret' : 'generated development secrets'}`;
}

/** One WARNING line for stderr (serve, check, a reload). */
export function devSecretWarning(risk: DevSecretRisk, host: string): string {
  const where = risk.reasons.map((r) => (r.startsWith('server.host') ? `hookline listens on ${host}` : r)).join(' and ');
  return `WARNING: ${onGenerated(risk.sources)} while ${where}: ${consequence(risk.sources)}. ${remedy(risk.sources)}`;
}

/** Why serve refuses to start, and a reload is refused, with NODE_ENV=production. */
export function devSecretRefusal(risk: DevSecretRisk): string {
  return `NODE_ENV=production: ${onGenerated(risk.sources, true)}, and ${consequence(risk.sources, true)}. ${remedy(risk.sources)}`;
}
