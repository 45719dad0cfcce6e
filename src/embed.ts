import type { ActionRegistry } from './actions/registry.ts';
import { loadConfig, parseConfigObject } from './config/load.ts';
import type { Config, ConfigInput } from './config/schema.ts';
import { assembleHookline, type HooklineCore } from './hookline.ts';
import type { Logger } from './observability/logger.ts';
import { devSecretRefusal, devSecretRisk, devSecretWarning, sourcesWithoutSecrets } from './receive/dev-secrets.ts';
import type { Clock } from './util/clock.ts';

export interface CreateHooklineOptions {
  /**
   * The config: the path of a YAML file, or an object with the same keys (both laid over the bundled
   * config.example.yaml, `${VAR}` read from the environment); default: what `hookline serve` reads
   * (`$HOOKLINE_CONFIG`, else ./hookline.yaml, else the bundled defaults).
   */
  config?: string | ConfigInput | Config;
  /** Time, for tests (default: the system clock). */
  clock?: Clock;
  /** A pino logger (default: JSON lines on stdout at `log.level`, secrets redacted). */
  logger?: Logger;
  /** The actions recipes may use (default: every built-in one). */
  actions?: ActionRegistry;
}

/**
 * hookline inside an application (PRODUCT §13): the store, the recipes and the worker, without an
 * HTTP server of its own. `hl.express()` gives the webhook paths as an express router; `hl.start()`
 * runs the worker, `hl.stop()` stops it and closes the store.
 *
 * ```ts
 * const hl = await createHookline({ config: 'hookline.yaml' });
 * app.use(hl.express());        // before any body parser
 * await hl.start();
 * ```
 */
export async function createHookline(options: CreateHooklineOptions = {}): Promise<HooklineCore> {
  const config = resolveConfig(options.config);
  // As `hookline serve`: no real delivery may meet a generated secret where a deployment is configured.
  const risk = devSecretRisk(config, sourcesWithoutSecrets(config));
  if (risk?.production) throw new Error(`createHookline refuses to start with ${devSecretRefusal(risk)}`);
  const hl = await assembleHookline({ config, ...(options.clock && { clock: options.clock }), ...(options.logger && { logger: options.logger }), ...(options.actions && { actions: options.actions }) });
  if (risk) hl.logger.warn({ sources: risk.sources, reasons: risk.reasons }, devSecretWarning(risk, config.server.host));
  return hl;
}

function resolveConfig(config: CreateHooklineOptions['config']): Config {
  if (config === undefined) return loadConfig().config;
  if (typeof config === 'string') return loadConfig({ file: config }).config;
  return parseConfigObject(config);
}
