import type { FastifyInstance } from 'fastify';
import type { Config, SourceName } from './config/schema.ts';
import { sourceNames } from './config/schema.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { resolveSecrets, type SourceSecrets } from './receive/dev-secrets.ts';
import { createServer } from './receive/server.ts';
import type { SourceSettings } from './receive/webhook.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/types.ts';
import { systemClock, type Clock } from './util/clock.ts';

export interface HooklineOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Run the HTTP receiver (default true). */
  receiver?: boolean;
  /** Listen on this port instead of config.server.port (0: any free port). */
  port?: number;
}

export interface Hookline {
  /** Base URL of the receiver, e.g. http://127.0.0.1:3000 */
  url: string;
  config: Config;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  secrets: SourceSecrets;
  app: FastifyInstance;
  /** Stop accepting, finish in-flight requests, stop the worker, close the store. */
  close(): Promise<void>;
}

const purgeEvery = 60_000;

/** The composition root: the one place that wires config, store, receiver and worker together. */
export async function startHookline(options: HooklineOptions): Promise<Hookline> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const store = await openStore(config.store);
  const secrets = resolveSecrets(config);

  const sources: SourceSettings[] = sourceNames
    .filter((name) => config.sources[name].enabled)
    .map((name: SourceName) => ({
      name,
      secrets: secrets.secrets[name],
      toleranceMs: config.sources[name].tolerance,
      dedupTtlMs: config.sources[name].dedup_ttl,
    }));

  let closing: Promise<void> | undefined;
  const app = createServer({ config, store, clock, logger, metrics, sources, isClosing: () => closing !== undefined });

  const purge = setInterval(() => {
    store.events.purgeSeen(clock.now(), 5_000).catch((err: unknown) => logger.warn({ err }, 'purge of seen events failed'));
  }, purgeEvery);
  purge.unref();

  const address = await app.listen({ host: config.server.host, port: options.port ?? config.server.port });
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');

  return {
    url,
    config,
    store,
    metrics,
    logger,
    secrets,
    app,
    close: () => {
      closing ??= (async () => {
        clearInterval(purge);
        await app.close();
        await store.close();
      })();
      return closing;
    },
  };
}
