import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, stringify } from 'yaml';
import { ConfigError } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';
import { parseLayers, type ConfigLayer } from './layers.ts';

/** The bundled example: hookline runs on its defaults when the operator has no config file. */
export const exampleConfigFile = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));

export interface LoadedConfig {
  config: Config;
  /** The file the config came from. */
  file: string;
  /** True when no operator file was found and the bundled example was used. */
  isExample: boolean;
}

export interface LoadOptions {
  /** `--config FILE` */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `--config`, else $HOOKLINE_CONFIG, else ./hookline.yaml, else the bundled config.example.yaml. */
export function findConfigFile(options: LoadOptions = {}): { file: string; isExample: boolean } {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const chosen = options.file ?? (env.HOOKLINE_CONFIG || undefined);
  if (chosen) {
    const file = resolve(cwd, chosen);
    if (!existsSync(file)) {
      throw new ConfigError([{ file, line: 1, col: 1, message: 'config file not found (from --config or HOOKLINE_CONFIG)' }]);
    }
    return { file, isExample: false };
  }
  const local = resolve(cwd, 'hookline.yaml');
  if (existsSync(local)) return { file: local, isExample: false };
  return { file: exampleConfigFile, isExample: true };
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const { file, isExample } = findConfigFile(options);
  const config = parseConfig(file, readFileSync(file, 'utf8'), options.env ?? process.env, options.cwd ?? process.cwd());
  return { config, file, isExample };
}

let bundled: ConfigLayer | undefined;
/** config.example.yaml, under every operator file: keys left out keep its defaults and `${VAR}` bindings. */
export function bundledDefaults(): ConfigLayer {
  bundled ??= { file: exampleConfigFile, text: readFileSync(exampleConfigFile, 'utf8') };
  return bundled;
}

let bundledVariables: Record<string, string> | undefined;
/**
 * The environment variable the bundled example reads a source's secret from (`MERU_WEBHOOK_SECRET`),
 * for messages that say what to set; undefined for a source the example does not define.
 */
export function bundledSecretVariable(source: string): string | undefined {
  if (!bundledVariables) {
    const sources = (parseDocument(bundledDefaults().text).toJS() as { sources?: Record<string, { secrets?: unknown }> } | null)?.sources ?? {};
    bundledVariables = {};
    for (const [name, entry] of Object.entries(sources)) {
      const first = Array.isArray(entry?.secrets) ? entry.secrets[0] : undefined;
      const variable = typeof first === 'string' ? /\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(first)?.[1] : undefined;
      if (variable) bundledVariables[name] = variable;
    }
  }
  return bundledVariables[source];
}

/**
 * Parses, interpolates and validates config text over `base` (the bundled example; `null`: the
 * schema's defaults only); relative paths are resolved against `cwd`.
 */
export function parseConfig(file: string, text: string, env: NodeJS.ProcessEnv, cwd: string, base: ConfigLayer | null = bundledDefaults()): Config {
  const layers = base === null || base.file === file ? [{ file, text }] : [base, { file, text }];
  const parsed = parseLayers(layers, env);
  if (Array.isArray(parsed)) throw new ConfigError(parsed);
  if (typeof parsed.raw !== 'object' || parsed.raw === null || Array.isArray(parsed.raw)) {
    throw new ConfigError([{ file, line: 1, col: 1, message: 'expected a mapping of config keys (server, store, sources, ...)' }]);
  }
  const result = configSchema.safeParse(parsed.raw);
  if (!result.success) throw new ConfigError(parsed.diagnose(result.error.issues));
  return resolvePaths(result.data, cwd);
}

function resolvePaths(config: Config, cwd: string): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const url = config.store.url.startsWith('sqlite:') ? `sqlite:${abs(config.store.url.slice('sqlite:'.length))}` : config.store.url;
  return {
    ...config,
    store: { ...config.store, url },
    recipes: abs(config.recipes),
    attachments: abs(config.attachments),
    data_dir: abs(config.data_dir),
  };
}

/**
 * A config given as an object (the programmatic API): laid over the bundled example like a
 * hookline.yaml, with `${VAR}` in its strings read from the environment. Problems are reported by
 * key path (the positions are those of the object written as YAML, under `label`).
 */
export function parseConfigObject(input: object, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), label = 'createHookline({ config })'): Config {
  return parseConfig(label, stringify(input), env, cwd);
}
