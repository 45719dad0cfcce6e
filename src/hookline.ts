import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { actionRegistry, type ActionRegistry } from './actions/registry.ts';
import { adminApi } from './admin/api.ts';
import { dryRunDeps } from './admin/dry-run-deps.ts';
import { sourcesJson } from './admin/sources.ts';
import { planReload } from './config/reload.ts';
import { formatDuration } from './config/units.ts';
import type { Config } from './config/schema.ts';
import { consoleApp } from './console/index.ts';
import { Conversations } from './domain/conversations.ts';
import { liveActions } from './engine/action-invoker.ts';
import type { EngineDeps } from './engine/execute.ts';
import { DestinationLimiter } from './engine/limiter.ts';
import { formatDiagnostic } from './errors.ts';
import { Pruner } from './lifecycle/pruner.ts';
import { lifecycleStats } from './lifecycle/stats.ts';
import { registerLifecycleMetrics } from './lifecycle/stats-metrics.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { flowMetrics } from './observability/flow-metrics.ts';
import { flowGate } from './flow/gate.ts';
import { configSecrets, createRedactor, minSecretLength, type Redactor } from './observability/redact.ts';
import { loadRecipes, type RecipeSet } from './recipes/load.ts';
import { transcriptRules } from './recipes/transcript-rules.ts';
import { watchRecipes } from './recipes/watch.ts';
import { RecipeVersions } from './recipes/versions.ts';
import { Scheduler } from './worker/scheduler.ts';
import { devSecretRefusal, devSecretRisk, resolveSecrets, type DevSecretRisk, type SourceSecrets } from './receive/dev-secrets.ts';
import { RejectionWatch, type Rejecting } from './receive/rejections.ts';
import { BodyBudget } from './receive/body-budget.ts';
import { createReceiveCore, type ReceiveCore } from './receive/core.ts';
import { expressRouter, type Middleware } from './receive/express.ts';
import { createServer } from './receive/server.ts';
import type { SourceSettings } from './receive/webhook.ts';
import { sourceNamed, sourcesOf } from './sources/configured.ts';
import { ownSource } from './sources/hookline/index.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { Dispatcher } from './router/dispatcher.ts';
import { dispatchLagMs, dispatchReadiness } from './router/readiness.ts';
import { Worker } from './worker/worker.ts';

export interface CoreOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Receive webhooks (default true). */
  receiver?: boolean;
  /** The actions recipes may use (default: every built-in one). */
  actions?: ActionRegistry;
}

export interface HooklineOptions extends CoreOptions {
  /** Serve the webhook routes (default true). Health, metrics and admin are always served. */
  receiver?: boolean;
  /** Run the worker loop (default true). Tests may turn it off and drive `worker.tick()` themselves. */
  worker?: boolean;
  /** Listen on this port instead of config.server.port (0: any free port). */
  port?: number;
}

/** hookline without an HTTP server of its own: what `createHookline` gives an application. */
export interface HooklineCore {
  /** The config in force (a reload changes it). */
  readonly config: Config;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  readonly secrets: SourceSecrets;
  worker: Worker;
  /** The receiving path of every received source, for an HTTP adapter (fastify, express). */
  receiver: { core: ReceiveCore; sources: readonly SourceSettings[] };
  recipes(): RecipeSet;
  /** The sources whose deliveries keep failing on their signature (hookline/source.rejecting raised, not recovered). */
  rejecting(): Rejecting[];
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
  /**
   * The webhook paths of every received source, as express middleware (a router): the same raw-body
   * handling, answers, limits and metrics as the standalone server. Mount it before any body parser.
   */
  express(): Middleware;
  /** Runs the worker (dispatch and recipe runs), the scheduler and the pruner (retention and expired dedup records). */
  start(): Promise<void>;
  /** Stops accepting webhooks (503 from then on), lets running steps finish, closes the store. */
  stop(): Promise<void>;
}

/** The standalone server: the core, with fastify serving webhooks, health, metrics, admin and console. */
export interface Hookline extends HooklineCore {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:3000 */
  url: string;
  app: FastifyInstance;
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

/** How long the id of one of hookline's own events is remembered: an episode is alerted once within it. */
const ownEventTtlMs = 30 * 86_400_000;

/** Internal: what the standalone server needs besides the core. */
interface Assembly extends HooklineCore {
  clock: Clock;
  dispatcher: Dispatcher;
  rejections: RejectionWatch;
  isClosing(): boolean;
  markClosing(): void;
}

/**
 * The composition root: the one place that wires config, store, receiver, recipes and worker
 * together. The standalone server (startHookline) and an embedding application (createHookline)
 * both start from it.
 */
export async function assembleHookline(options: CoreOptions): Promise<Assembly> {
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
  registerLifecycleMetrics(metrics.registry, () => lifecycleStats(store, config.attachments, clock.now()));

  let recipeSet = loadRecipes(config.recipes, actions);
  for (const d of recipeSet.diagnostics) logger.error(`recipe refused: ${formatDiagnostic(d)}`);
  logger.info({ recipes: [...recipeSet.recipes.keys()], folder: config.recipes }, 'recipes loaded');
  const reloadListeners = new Set<(set: RecipeSet) => void>();
  const watcher = watchRecipes(config.recipes, actions, () => recipeSet, (set) => {
    recipeSet = set;
    for (const listener of reloadListeners) listener(set);
  }, logger);
  const recipes = () => recipeSet;

  const conversations = new Conversations(transcriptRules(config, clock), store.records.conversations);
  const versions = new RecipeVersions({ store: store.versions, actions, recipes, clock });
  const dispatcher = new Dispatcher({
    store,
    get config() {
      return current;
    },
    clock,
    logger,
    conversations,
    recipes,
    versions,
    get env() {
      return env;
    },
    metrics,
  });
  const limiter = new DestinationLimiter(config.worker.per_connection);
  const flowCounters = flowMetrics(metrics.registry, store.flow);
  const flow = flowGate({
    store,
    clock,
    get config() {
      return current;
    },
  });
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
    versions,
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
    flow: { ...flow, held: (connection, reason) => flowCounters.holds.inc({ connection, reason }) },
    wakeAt: (at, why) => worker.wakeAt(at, why),
  };
  // Cron ticks of scheduled recipes (issue 14): appended as hookline/schedule events, once across instances.
  const scheduler = new Scheduler({ store, clock, logger, recipes, wake: () => worker.wake('events') });
  const worker = new Worker({
    store,
    clock,
    logger,
    dispatcher,
    scheduler,
    engine,
    limiter,
    options: { concurrency: config.worker.concurrency, leaseMs: config.worker.lease, pollMs: config.worker.poll },
  });

  // What a reload may change (secrets, tolerance, the preset keys it allows) is read from the config in
  // force at each request: its scheme is compiled once per config.
  const sources: SourceSettings[] = sourcesOf(config)
    .filter((s) => s.config.enabled && options.receiver !== false)
    .map(({ name, config: source }) => ({
      name,
      path: source.path,
      get scheme() {
        return sourceNamed(current, name)!.scheme;
      },
      get secrets() {
        return secrets.secrets[name] ?? [];
      },
      get toleranceMs() {
        return current.sources[name]!.tolerance;
      },
      get dedupTtlMs() {
        return current.sources[name]!.dedup_ttl;
      },
    }));

  const receiving = sources.map((s) => s.name);

  // hookline/source.rejecting and source.recovered: appended to the inbox like any event.
  const rejections = new RejectionWatch({
    clock,
    logger,
    describe: (name) => {
      const source = sourceNamed(current, name)!;
      return {
        source: name,
        preset: source.preset.name,
        provider: source.preset.provider,
        path: source.config.path,
        alertAfterMs: source.config.alert_after,
        alertAfter: formatDuration(source.config.alert_after),
        secrets: (secrets.secrets[name] ?? []).map((_, i) => `sources.${name}.secrets[${i}]`),
        devSecretsFile: secrets.generated.includes(name) ? secrets.file : undefined,
        timestamped: source.scheme.replayWindow,
        onRejected: source.preset.onRejected,
      };
    },
    anchor: async (name) => (await store.read.events({ source: name, limit: 1 }))[0]?.seq ?? 0,
    emit: async (type, id, body) => {
      const result = await store.inbox.receive({ source: ownSource, eventId: id, type, receivedAt: clock.now(), headers: {}, body: JSON.stringify(body), test: false }, ownEventTtlMs);
      if (!result.duplicate) worker.wake('events');
    },
  });
  new Gauge({
    name: 'hookline_source_rejecting',
    help: 'A source whose deliveries keep failing signature verification (a wrong secret): 1 while it does, after alert_after',
    labelNames: ['source'] as const,
    registers: [metrics.registry],
    collect() {
      const now = new Set(rejections.rejecting().map((r) => r.source));
      for (const { name } of sources) this.set({ source: name }, now.has(name) ? 1 : 0);
    },
  });

  let closing: Promise<void> | undefined;
  let stopping = false;
  const core = createReceiveCore(
    {
      store,
      clock,
      logger,
      metrics,
      limits: { bodyLimit: config.server.body_limit, readTimeoutMs: config.server.read_timeout },
      budget: new BodyBudget(config.server.body_budget),
      onStored: () => worker.wake('events'),
      onOutcome: (source, outcome) => rejections.observe(source, outcome),
      attachmentsDir: config.attachments,
      isClosing: () => stopping,
    },
    sources,
  );
  const pruner = new Pruner({ store, clock, logger, retention: () => current.retention, attachmentsDir: () => config.attachments });

  const reloadConfig = (next: Config, trigger = 'reload'): ConfigReload => {
    const plan = planReload(current, next);
    if (plan.applied.length === 0 && plan.restart.length === 0) {
      logger.info({ trigger }, 'config reloaded: nothing changed');
      return { applied: [], restart: [] };
    }
    const risk = devSecretRisk(plan.config, receiving.filter((name) => plan.config.sources[name]!.secrets.length === 0));
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
    get config() {
      return current;
    },
    store,
    metrics,
    logger,
    get secrets() {
      return secrets;
    },
    worker,
    receiver: { core, sources },
    recipes,
    rejecting: () => rejections.rejecting(),
    reloadRecipes: () => watcher.reload(),
    reloadConfig,
    onRecipesReloaded: (listener) => {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    express: () => expressRouter(core),
    start: async () => {
      pruner.start();
      await worker.start();
      scheduler.start();
    },
    stop: () => {
      stopping = true;
      closing ??= (async () => {
        await pruner.stop();
        watcher.close();
        scheduler.stop();
        await worker.stop();
        await store.close();
      })();
      return closing;
    },
    clock,
    dispatcher,
    rejections,
    isClosing: () => stopping,
    markClosing: () => {
      stopping = true;
    },
  };
}

/** The standalone server: the core, and fastify serving webhooks, health, metrics, the admin API and the console. */
export async function startHookline(options: HooklineOptions): Promise<Hookline> {
  const hl = await assembleHookline(options);
  const { store, clock, logger, metrics, worker, recipes, rejections } = hl;
  const config = hl.config;
  const { sources } = hl.receiver;
  const receiving = sources.map((s) => s.name);
  const app = createServer({
    config,
    store,
    logger,
    metrics,
    core: hl.receiver.core,
    sources,
    isClosing: hl.isClosing,
    readiness: dispatchReadiness({ store, clock, dispatcher: hl.dispatcher, working: () => worker.isRunning, maxLagMs: config.worker.max_lag }),
  });

  await app.register(
    (scope) =>
      adminApi(scope, {
        store,
        clock,
        get token() {
          return hl.config.admin.token;
        },
        recipes,
        wake: () => worker.wake(),
        sources: () => sourcesJson(hl.config, receiving, rejections.rejecting()),
        config: () => hl.config,
        attachmentsDir: () => hl.config.attachments,
        dryRun: () => dryRunDeps(hl.config, store, recipes(), clock),
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
          return hl.config;
        },
        metrics,
        logger,
        get token() {
          return hl.config.admin.token;
        },
        recipes,
        wake: () => worker.wake(),
        get secrets() {
          return hl.secrets.secrets;
        },
        receiving: sources.map((s) => s.name),
        rejecting: () => rejections.rejecting(),
        selfUrl: () => url,
      }),
    { prefix: '/console' },
  );

  const address = await app.listen({ host: config.server.host, port: options.port ?? config.server.port });
  url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  if (options.worker !== false) await hl.start();

  let closing: Promise<void> | undefined;
  return Object.assign(hl, {
    url,
    app,
    close: () => {
      closing ??= (async () => {
        // In-flight answers carry connection: close from now on, so keep-alive sockets end.
        hl.markClosing();
        await app.close();
        await hl.stop();
      })();
      return closing;
    },
  });
}

