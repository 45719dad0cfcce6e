import type { FastifyInstance } from 'fastify';
import { actionRegistry, type ActionRegistry } from './actions/registry.ts';
import { adminApi } from './admin/api.ts';
import { planReload } from './config/reload.ts';
import type { Config, SourceName } from './config/schema.ts';
import { sourceNames } from './config/schema.ts';
import { consoleApp } from './console/index.ts';
import { storeAttachments } from './domain/attachments.ts';
import { Conversations } from './domain/conversations.ts';
import { liveActions } from './engine/action-invoker.ts';
import type { EngineDeps } from './engine/execute.ts';
import { DestinationLimiter } from './engine/limiter.ts';
import { formatDiagnostic } from './errors.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { configSecrets, createRedactor, minSecretLength, type Redactor } from './observability/redact.ts';
import { loadRecipes, type RecipeSet } from './recipes/load.ts';
import { transcriptRules } from './recipes/transcript-rules.ts';
import { watchRecipes } from './recipes/watch.ts';
import { devSecretRefusal, devSecretRisk, resolveSecrets, type DevSecretRisk, type SourceSecrets } from './receive/dev-secrets.ts';
import { createServer } from './receive/server.ts';
import type { SourceSettings } from './receive/webhook.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { Dispatcher } from './router/dispatcher.ts';
import { dispatchLagMs, dispatchReadiness } from './router/readiness.ts';
import { Worker } from './worker/worker.ts';

export interface HooklineOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Serve the webhook routes (default true). Health, metrics and admin are always served. */
  receiver?: boolean;
  /** Run the worker loop (default true). Tests may turn it off and drive `worker.tick()` themselves. */
  worker?: boolean;
  /** Listen on this port instead of config.server.port (0: any free port). */
  port?: number;
  /** The actions recipes may use (default: every built-in one). */
  actions?: ActionRegistry;
}

export interface Hookline {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:3000 */
  url: string;
  /** The config in force (a reload changes it). */
  readonly config: Config;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  readonly secrets: SourceSecrets;
  app: FastifyInstance;
  worker: Worker;
  recipes(): RecipeSet;
  /** Re-reads the recipes folder now (the file watcher does this by itself). */
  reloadRecipes(): RecipeSet;
  /** Calls `listener` after every reload of the recipes folder, valid or not. */
  onRecipesReloaded(listener: (set: RecipeSet) => void): () => void;
  /**
   * Applies what can change while running (secrets, connections, retry, vars, …) from a new,
   * validated config; changes that need a restart keep their running value and are logged.
   * `trigger` names the cause in the log (SIGHUP, the file changing).
   */
  reloadConfig(next: Config, trigger?: string): ConfigReload;
  /** Stop accepting, finish in-flight requests, let the worker finish its runs, close the store. */
  close(): Promise<void>;
}

export interface ConfigReload {
  /** Changed keys now in force. */
  applied: string[];
  /** Changed keys that keep their running value until a restart. */
  restart: string[];
  /** Why nothing was applied (NODE_ENV=production and a source left without its secret). */
  refused?: string;
  /** Sources left on a generated secret where a deployment is configured (outside production). */
  risk?: DevSecretRisk;
}

const purgeEvery = 60_000;

/** The composition root: the one place that wires config, store, receiver, recipes and worker together. */
export async function startHookline(options: HooklineOptions): Promise<Hookline> {
  // The config in force. What a reload may change is read through `current` when used (getters
  // below), never copied at start; what needs a restart is read once here.
  let current = options.config;
  const config = options.config;
  const clock = options.clock ?? systemClock;
  let secrets = resolveSecrets(config);
  const allowedEnv = (c: Config) => Object.fromEntries(c.env.map((name) => [name, process.env[name] ?? '']));
  let env = allowedEnv(config);
  // One redactor of every secret value, for log lines and for the records the engine stores. It is
  // rebuilt on reload (a rotated secret is redacted from then on); its users hold this forwarder.
  let redactor = createRedactor(configSecrets(config, secrets.secrets, env));
  const redact: Redactor = { text: (v) => redactor.text(v), value: (v) => redactor.value(v) };
  const logger = options.logger ?? createLogger(config.log.level, undefined, redact);
  const warnShortSecrets = () => {
    const short = redactor.tooShort.filter((name) => !name.startsWith('env.'));
    if (short.length > 0) logger.warn({ settings: short }, `secrets shorter than ${minSecretLength} characters are not redacted from logs and records: use longer ones`);
  };
  warnShortSecrets();
  const actions = options.actions ?? actionRegistry();
  const store = await openStore(config.store);
  const metrics = createMetrics(
    () => store.read.runCounts(),
    async () => {
      const backlog = await store.read.backlog();
      return { lagSeconds: dispatchLagMs(backlog, clock.now()) / 1000, setAside: backlog.setAside };
    },
  );

  let recipeSet = loadRecipes(config.recipes, actions);
  for (const d of recipeSet.diagnostics) logger.error(`recipe refused: ${formatDiagnostic(d)}`);
  logger.info({ recipes: [...recipeSet.recipes.keys()], folder: config.recipes }, 'recipes loaded');
  const reloadListeners = new Set<(set: RecipeSet) => void>();
  const watcher = watchRecipes(config.recipes, actions, () => recipeSet, (set) => {
    recipeSet = set;
    for (const listener of reloadListeners) listener(set);
  }, logger);
  const recipes = () => recipeSet;

  const conversations = new Conversations(transcriptRules(config.sources.muro.transcript, clock), store.records.conversations);
  const dispatcher = new Dispatcher({
    store,
    get config() {
      return current;
    },
    clock,
    logger,
    conversations,
    recipes,
    get env() {
      return env;
    },
    metrics,
  });
  const limiter = new DestinationLimiter(config.worker.per_connection);
  const engine: EngineDeps = {
    queue: store.queue,
    waits: store.waits,
    withLock: (fn) => store.dispatch.withLock(fn),
    conversations,
    actions: liveActions({
      get config() {
        return current;
      },
      records: store.records,
      clock,
      logger,
      limiter,
      redact,
    }),
    recipes,
    get vars() {
      return current.vars;
    },
    get env() {
      return env;
    },
    clock,
    logger,
    metrics: {
      run: (recipe, outcome) => metrics.runs.inc({ recipe, outcome }),
      action: (action, result, seconds) => {
        metrics.actions.inc({ action, result });
        if (seconds !== undefined) metrics.stepLatency.observe({ action }, seconds);
      },
    },
    get retry() {
      return { schedule: current.retry.schedule, jitter: current.retry.jitter };
    },
    redact,
    wakeAt: (at, why) => worker.wakeAt(at, why),
  };
  const worker = new Worker({
    store,
    clock,
    logger,
    dispatcher,
    engine,
    limiter,
    options: { concurrency: config.worker.concurrency, leaseMs: config.worker.lease, pollMs: config.worker.poll },
  });

  const sources: SourceSettings[] = sourceNames
    .filter((name) => config.sources[name].enabled && options.receiver !== false)
    .map((name: SourceName) => ({
      name,
      get secrets() {
        return secrets.secrets[name];
      },
      get toleranceMs() {
        return current.sources[name].tolerance;
      },
      get dedupTtlMs() {
        return current.sources[name].dedup_ttl;
      },
    }));

  const attachmentLimits = {
    dir: config.attachments,
    get perAttachment() {
      return current.sources.meru.attachment_limit;
    },
    get perEmail() {
      return current.sources.meru.email_attachments_limit;
    },
  };
  let closing: Promise<void> | undefined;
  const app = createServer({
    config,
    store,
    clock,
    logger,
    metrics,
    sources,
    onStored: () => worker.wake('events'),
    prepare: async (source, event, raw) =>
      source === 'meru' && Array.isArray(event.attachments) && event.attachments.length > 0
        ? JSON.stringify(await storeAttachments(event, attachmentLimits))
        : raw,
    isClosing: () => closing !== undefined,
    readiness: dispatchReadiness({ store, clock, dispatcher, working: () => worker.isRunning, maxLagMs: config.worker.max_lag }),
  });

  await app.register(
    (scope) =>
      adminApi(scope, {
        store,
        clock,
        get token() {
          return current.admin.token;
        },
        recipes,
        wake: () => worker.wake(),
      }),
    { prefix: '/admin' },
  );
  let url = '';
  await app.register(
    (scope) =>
      consoleApp(scope, {
        store,
        clock,
        get config() {
          return current;
        },
        metrics,
        logger,
        get token() {
          return current.admin.token;
        },
        recipes,
        wake: () => worker.wake(),
        get secrets() {
          return secrets.secrets;
        },
        receiving: sources.map((s) => s.name),
        selfUrl: () => url,
      }),
    { prefix: '/console' },
  );

  const purge = setInterval(() => {
    store.inbox.purgeSeen(clock.now(), 5_000).catch((err: unknown) => logger.warn({ err }, 'purge of seen events failed'));
  }, purgeEvery);
  purge.unref();

  const address = await app.listen({ host: config.server.host, port: options.port ?? config.server.port });
  url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  if (options.worker !== false) await worker.start();

  const receiving = sources.map((s) => s.name);
  const reloadConfig = (next: Config, trigger = 'reload'): ConfigReload => {
    const plan = planReload(current, next);
    if (plan.applied.length === 0 && plan.restart.length === 0) {
      logger.info({ trigger }, 'config reloaded: nothing changed');
      return { applied: [], restart: [] };
    }
    const risk = devSecretRisk(plan.config, receiving.filter((name) => plan.config.sources[name].secrets.length === 0));
    if (risk?.production) {
      const refused = `config reload refused, the running config stays in force: ${devSecretRefusal(risk)}`;
      logger.error({ trigger, sources: risk.sources }, refused);
      return { applied: [], restart: [], refused };
    }
    secrets = resolveSecrets(plan.config);
    env = allowedEnv(plan.config);
    redactor = createRedactor(configSecrets(plan.config, secrets.secrets, env));
    warnShortSecrets();
    logger.level = plan.config.log.level;
    current = plan.config;
    if (plan.applied.length > 0) logger.info({ trigger, changed: plan.applied }, 'config reloaded');
    if (plan.restart.length > 0) {
      logger.warn({ trigger, keys: plan.restart }, `config changes that need a restart (running values kept until then): ${plan.restart.join(', ')}`);
    }
    if (risk) logger.warn({ trigger, sources: risk.sources, reasons: risk.reasons }, 'sources run on a generated development secret where a deployment is configured: real deliveries get 401');
    return { applied: plan.applied, restart: plan.restart, ...(risk && { risk }) };
  };

  return {
    url,
    get config() {
      return current;
    },
    store,
    metrics,
    logger,
    get secrets() {
      return secrets;
    },
    app,
    worker,
    recipes,
    reloadRecipes: () => watcher.reload(),
    reloadConfig,
    onRecipesReloaded: (listener) => {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    close: () => {
      closing ??= (async () => {
        clearInterval(purge);
        watcher.close();
        await app.close();
        await worker.stop();
        await store.close();
      })();
      return closing;
    },
  };
}
