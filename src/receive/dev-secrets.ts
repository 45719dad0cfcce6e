import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledSecretVariable } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { sourceNamed, sourcesOf } from '../sources/configured.ts';

export interface SourceSecrets {
  /** The secrets of every enabled source: configured, or the generated development one. */
  secrets: Record<string, string[]>;
  /** Sources that run on a generated development secret, and the file that holds it. */
  generated: string[];
  file: string;
}

/**
 * A source without configured secrets never accepts unsigned events: it gets a random development
 * secret in its provider's format, kept in <data_dir>/dev-secrets.json (mode 0600) so that
 * `hookline send` and the console can sign with it. Disabled sources need none.
 */
export function resolveSecrets(config: Config): SourceSecrets {
  const file = join(config.data_dir, 'dev-secrets.json');
  const enabled = sourcesOf(config).filter((s) => s.config.enabled);
  const secrets = Object.fromEntries(enabled.map((s) => [s.name, s.config.secrets]));
  const missing = enabled.filter((s) => s.config.secrets.length === 0);
  if (missing.length === 0) return { secrets, generated: [], file };

  const stored: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  for (const source of missing) {
    if (!stored[source.name] || source.scheme.secretProblem(stored[source.name]!)) {
      stored[source.name] = source.scheme.newDevSecret();
      changed = true;
    }
    secrets[source.name] = [stored[source.name]!];
  }
  if (changed) {
    mkdirSync(config.data_dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return { secrets, generated: missing.map((s) => s.name), file };
}

/** The enabled sources that have no configured secret: they would run on a generated one. */
export function sourcesWithoutSecrets(config: Config): string[] {
  return sourcesOf(config)
    .filter((s) => s.config.enabled && s.config.secrets.length === 0)
    .map((s) => s.name);
}

/**
 * Sources on a generated secret where a real deployment is configured: every real delivery would
 * get 401, and MERU does not retry a 4xx. `production` (NODE_ENV=production) makes it a refusal.
 */
export interface DevSecretRisk {
  sources: string[];
  /** Why this looks like a deployment: a non-loopback host, NODE_ENV=production. */
  reasons: string[];
  production: boolean;
  /** What the messages say of each source: its provider, the variable the bundled config reads its secret from, what a 401 costs. */
  providers: SourceNote[];
}

interface SourceNote {
  name: string;
  provider: string;
  variable: string | undefined;
  onRejected: string | undefined;
}

function describe(config: Config, names: readonly string[]): SourceNote[] {
  return names.map((name) => {
    const preset = sourceNamed(config, name)?.preset;
    return { name, provider: preset?.provider ?? name, variable: bundledSecretVariable(name), onRejected: preset?.onRejected };
  });
}

const loopback = /^(localhost|127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;

export function devSecretRisk(config: Config, generated: readonly string[], env: NodeJS.ProcessEnv = process.env): DevSecretRisk | undefined {
  if (generated.length === 0) return undefined;
  const production = env.NODE_ENV === 'production';
  const reasons = [
    ...(loopback.test(config.server.host) ? [] : [`server.host is ${config.server.host}, not loopback`]),
    ...(production ? ['NODE_ENV=production'] : []),
  ];
  return reasons.length === 0 ? undefined : { sources: [...generated], reasons, production, providers: describe(config, generated) };
}

/** What to do about it, naming the variable the bundled config reads where there is one (MERU_WEBHOOK_SECRET). */
function remedy(notes: readonly SourceNote[]): string {
  const vars = notes.flatMap((n) => (n.variable ? [n.variable] : []));
  if (notes.length > 1) {
    const set = vars.length > 0 ? `${vars.join(' and ')} (or sources.<name>.secrets)` : 'sources.<name>.secrets';
    return `Set ${set} to the secrets the providers show, or sources.<name>.enabled: false for a source you do not receive.`;
  }
  const [n] = notes as [SourceNote];
  const set = n.variable ? `${n.variable} (or sources.${n.name}.secrets)` : `sources.${n.name}.secrets`;
  return `Set ${set} to the secret ${n.provider} shows, or sources.${n.name}.enabled: false if you do not receive ${n.name}.`;
}

function consequence(notes: readonly SourceNote[], would = false): string {
  const who = notes.map((n) => n.provider).join(' and ');
  const costs = notes.flatMap((n) => (n.onRejected ? [n.onRejected] : []));
  return `every real ${who} delivery ${would ? 'would get' : 'gets'} 401${costs.length > 0 ? ` (${costs.join('; ')})` : ''}`;
}

function onGenerated(sources: readonly string[], would = false): string {
  const one = sources.length === 1;
  const verb = would ? 'would run' : one ? 'runs' : 'run';
  return `${sources.join(', ')} ${verb} on ${one ? 'a generated development secret' : 'generated development secrets'}`;
}

/** One WARNING line for stderr (serve, check, a reload). */
export function devSecretWarning(risk: DevSecretRisk, host: string): string {
  const where = risk.reasons.map((r) => (r.startsWith('server.host') ? `hookline listens on ${host}` : r)).join(' and ');
  return `WARNING: ${onGenerated(risk.sources)} while ${where}: ${consequence(risk.providers)}. ${remedy(risk.providers)}`;
}

/** Why serve refuses to start, and a reload is refused, with NODE_ENV=production. */
export function devSecretRefusal(risk: DevSecretRisk): string {
  return `NODE_ENV=production: ${onGenerated(risk.sources, true)}, and ${consequence(risk.providers, true)}. ${remedy(risk.providers)}`;
}
