import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import { receiveErrors } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/types.ts';
import { errorBody, outcomeOf, receiveWebhook, type SourceSettings, type WebhookDeps } from './webhook.ts';

export interface ServerDeps extends WebhookDeps {
  config: Config;
  metrics: Metrics;
  sources: SourceSettings[];
  /** True once shutdown began: answers then carry `connection: close` so keep-alive sockets end. */
  isClosing?: () => boolean;
  /** Checks for /readyz besides the store (dispatch): their details join the answer; a `problem` makes it 503. */
  readiness?: () => Promise<{ problem?: string | undefined; details: Record<string, unknown> }>;
}

const otherMethods = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** A readiness probe gives up after a few seconds; so does /readyz, answering 503 rather than late. */
const readyTimeoutMs = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The HTTP adapter: reads bytes, calls the receiving path, answers. No business logic here. */
export function createServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.server.body_limit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  app.addHook('onSend', async (_request, reply) => {
    if (deps.isClosing?.()) void reply.header('connection', 'close');
  });

  app.setNotFoundHandler((_request, reply) => {
    deps.metrics.rejected.inc({ status: '404' });
    void reply.code(404).send(errorBody('HL_NOT_FOUND'));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const source = (request.routeOptions.config as { source?: string } | undefined)?.source;
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'HL_BODY_TOO_LARGE' : status < 500 ? 'HL_BAD_REQUEST' : undefined;
    if (source && code) deps.metrics.received.inc({ source, outcome: outcomeOf(code) });
    else deps.metrics.rejected.inc({ status: String(status) });
    if (status === 413) {
      // Fastify closes the socket after a 413, and a sender still writing its body then sees a reset
      // instead of the answer. Keeping the connection lets Node read and discard the rest, so the
      // sender gets a clean 413 (bounded by the server's request timeout).
      reply.removeHeader('connection');
    }
    if (code) return reply.code(status).send(errorBody(code, status === 413 ? receiveErrors.HL_BODY_TOO_LARGE.message : error.message));
    deps.logger.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ ok: false, code: 'HL_INTERNAL', error: 'internal error' });
  });

  app.get('/healthz', async () => ({ ok: true }));
  // Ready: the store takes a write within readyTimeoutMs, and the readiness checks (dispatch keeps
  // up) find no problem. The answer names the database (address, schema, pool) so that an operator
  // sees which one an instance uses and how busy its pool is, and says why when it is 503.
  app.get('/readyz', async (_request, reply) => {
    const started = performance.now();
    const store = deps.store.kind;
    try {
      await withTimeout(deps.store.ping(), readyTimeoutMs, `the store did not take a write within ${readyTimeoutMs} ms`);
    } catch (error) {
      return reply.code(503).send({ ok: false, store, database: { ...deps.store.describe?.() }, error: `store: ${(error as Error).message}` });
    }
    const database = { ...deps.store.describe?.(), ping_ms: Math.round((performance.now() - started) * 10) / 10 };
    const ready = deps.readiness
      ? await withTimeout(deps.readiness(), readyTimeoutMs, `the readiness checks took over ${readyTimeoutMs} ms`).catch((error: Error) => ({ problem: error.message, details: {} }))
      : { details: {} };
    if (ready.problem) return reply.code(503).send({ ok: false, store, database, ...ready.details, error: ready.problem });
    return { ok: true, store, database, ...ready.details };
  });
  app.get('/metrics', async (_request, reply) => {
    void reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  for (const source of deps.sources) {
    const path = deps.config.sources[source.name].path;
    void app.register(async (scope) => {
      // Webhooks are verified over their exact bytes, whatever content type the sender declares.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.addHook('onResponse', async (_request, reply) => {
        deps.metrics.ackLatency.observe({ source: source.name }, reply.elapsedTime / 1000);
      });
      scope.post(path, { config: { source: source.name } }, async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const answer = await receiveWebhook(deps, source, raw, request.headers);
        deps.metrics.received.inc({ source: source.name, outcome: answer.outcome });
        if (answer.status !== 200) deps.logger.info({ source: source.name, outcome: answer.outcome, ip: request.ip }, 'webhook rejected');
        return reply.code(answer.status).send(answer.body);
      });
      scope.route({
        method: [...otherMethods],
        url: path,
        handler: async (_request, reply) => {
          deps.metrics.received.inc({ source: source.name, outcome: outcomeOf('HL_METHOD_NOT_ALLOWED') });
          return reply.code(405).header('allow', 'POST').send(errorBody('HL_METHOD_NOT_ALLOWED'));
        },
      });
    });
  }
  return app;
}
