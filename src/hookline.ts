import type { FastifyInstance } from 'fastify';
import { actionRegistry, type ActionRegistry } from './actions/registry.ts';
import { adminApi } from './admin/api.ts';
import type { Config, SourceName } from './config/schema.ts';
import { sourceNames } from './config/schema.ts';
import { consoleApp } from './console/index.ts';
import { storeAttachments } from './domain/attachments.ts';
import { Conversations } from './domain/conversations.ts';
import type { EngineDeps } from './engine/execute.ts';
import { DestinationLimiter } from './engine/limiter.ts';
import { formatDiagnostic } from './errors.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { loadRecipes, type RecipeSet } from './recipes/load.ts';
import { watchRecipes } from './recipes/watch.ts';
import { resolveSecrets, type SourceSecrets } from './receive/dev-secrets.ts';
import { createServer } from './receive/server.ts';
import type { SourceSettings } from './receive/webhook.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { Dispatcher } from './worker/dispatcher.ts';
import { dispatchLagMs, dispatchReadiness } from './worker/readiness.ts';
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
  config: Config;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  secrets: SourceSecrets;
  app: FastifyInstance;
  worker: Worker;
  recipes(): RecipeSet;
  /** Re-reads the recipes folder now (the file watcher does this by itself). */
  reloadRecipes(): RecipeSet;
  /** Calls `listener` after every reload of the recipes folder, valid or not. */
  onRecipesReloaded(listener: (set: RecipeSet) => void): () => void;
  /** Stop accepting, finish in-flight requests, let the worker finish its runs, close the store. */
  close(): Promise<void>;
}

const purgeEvery = 60_000;

/** The composition root: the one place that wires config, store, receiver, recipes and worker together. */
export async function startHookline(options: HooklineOptions): Promise<Hookline> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.log.level);
  const actions = options.actions ?? actionRegistry();
  const store = await openStore(config.store);
  const metrics = createMetrics(
    () => store.runs.counts(),
    async () => {
      const backlog = await store.dispatch.backlog();
      return { lagSeconds: dispatchLagMs(backlog, clock.now()) / 1000, setAside: backlog.setAside };
    },
  );
  const secrets = resolveSecrets(config);
  const env = Object.fromEntries(config.env.map((name) => [name, process.env[name] ?? '']));

  let recipeSet = loadRecipes(config.recipes, actions);
  for (const d of recipeSet.diagnostics) logger.error(`recipe refused: ${formatDiagnostic(d)}`);
  logger.info({ recipes: [...recipeSet.recipes.keys()], folder: config.recipes }, 'recipes loaded');
  const reloadListeners = new Set<(set: RecipeSet) => void>();
  const watcher = watchRecipes(config.recipes, actions, () => recipeSet, (set) => {
    recipeSet = set;
    for (const listener of reloadListeners) listener(set);
  }, logger);
  const recipes = () => recipeSet;

  const conversations = new Conversations(config.sources.muro.transcript, store.conversations, clock);
  const dispatcher = new Dispatcher({ store, config, clock, logger, conversations, recipes, env, metrics });
  const engine: EngineDeps = {
    store,
    config,
    clock,
    logger,
    metrics,
    actions,
    recipes,
    conversations,
    limiter: new DestinationLimiter(config.worker.per_connection),
    retry: { schedule: config.retry.schedule, jitter: config.retry.jitter },
    env,
  };
  const worker = new Worker({
    store,
    clock,
    logger,
    dispatcher,
    engine,
    options: { concurrency: config.worker.concurrency, leaseMs: config.worker.lease, pollMs: config.worker.poll },
  });

  const sources: SourceSettings[] = sourceNames
    .filter((name) => config.sources[name].enabled && options.receiver !== false)
    .map((name: SourceName) => ({
      name,
      secrets: secrets.secrets[name],
      toleranceMs: config.sources[name].tolerance,
      dedupTtlMs: config.sources[name].dedup_ttl,
    }));

  const attachmentLimits = {
    dir: config.attachments,
    perAttachment: config.sources.meru.attachment_limit,
    perEmail: config.sources.meru.email_attachments_limit,
  };
  let closing: Promise<void> | undefined;
  const app = createServer({
    config,
    store,
    clock,
    logger,
    metrics,
    sources,
    onStored: () => worker.wake(),
    prepare: async (source, event, raw) =>
      source === 'meru' && Array.isArray(event.attachments) && event.attachments.length > 0
        ? JSON.stringify(await storeAttachments(event, attachmentLimits))
        : raw,
    isClosing: () => closing !== undefined,
    readiness: dispatchReadiness({ store, clock, dispatcher, working: () => worker.isRunning, maxLagMs: config.worker.max_lag }),
  });

  await app.register((scope) => adminApi(scope, { store, clock, token: config.admin.token, recipes, wake: () => worker.wake() }), { prefix: '/admin' });
  let url = '';
  await app.register(
    (scope) =>
      consoleApp(scope, {
        store,
        clock,
        config,
        metrics,
        logger,
        token: config.admin.token,
        recipes,
        wake: () => worker.wake(),
        secrets: secrets.secrets,
        receiving: sources.map((s) => s.name),
        selfUrl: () => url,
      }),
    { prefix: '/console' },
  );

  const purge = setInterval(() => {
    store.events.purgeSeen(clock.now(), 5_000).catch((err: unknown) => logger.warn({ err }, 'purge of seen events failed'));
  }, purgeEvery);
  purge.unref();

  const address = await app.listen({ host: config.server.host, port: options.port ?? config.server.port });
  url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  if (options.worker !== false) await worker.start();

  return {
    url,
    config,
    store,
    metrics,
    logger,
    secrets,
    app,
    worker,
    recipes,
    reloadRecipes: () => watcher.reload(),
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
