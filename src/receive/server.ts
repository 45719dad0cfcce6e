import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config/schema.ts';
import { ReceiveError, receiveErrors, type ReceiveErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/types.ts';
import { declaredLength, hasBody } from './body-budget.ts';
import { guardBody } from './body-guard.ts';
import type { ReceiveCore } from './core.ts';
import { errorBody, type SourceSettings } from './webhook.ts';

export interface ServerDeps {
  config: Config;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** The receiving path, shared with any other adapter (express): its sources and its body budget. */
  core: ReceiveCore;
  sources: readonly SourceSettings[];
  /** True once shutdown began: answers then carry `connection: close` so keep-alive sockets end. */
  isClosing?: () => boolean;
  /** Checks for /readyz besides the store (dispatch): their details join the answer; a `problem` makes it 503. */
  readiness?: () => Promise<{ problem?: string | undefined; details: Record<string, unknown> }>;
}

const methods = ['POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** A readiness probe gives up after a few seconds; so does /readyz, answering 503 rather than late. */
const readyTimeoutMs = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Node's http server checks header and request deadlines this often (its default, 30 s, is too coarse). */
const deadlineCheckMs = 1_000;

/**
 * The standalone HTTP server (fastify): health, readiness, metrics, and the webhook paths, which it
 * hands to the receive core as soon as their head is in (the request is hijacked: fastify reads no
 * byte of a webhook body). Other routes (admin, console) get their bodies under the same budget.
 */
export function createServer(deps: ServerDeps): FastifyInstance {
  const { server } = deps.config;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: server.body_limit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // No socket is held open by a client that sends nothing: the head must arrive within
    // headers_timeout, an idle keep-alive connection ends after keep_alive_timeout, and a whole
    // request within both plus read_timeout (webhook bodies get their own, JSON, 408 before that).
    http: { headersTimeout: server.headers_timeout, connectionsCheckingInterval: deadlineCheckMs },
    keepAliveTimeout: server.keep_alive_timeout,
    requestTimeout: server.headers_timeout + server.read_timeout + deadlineCheckMs,
  });

  const { budget } = deps.core;
  const retryAfterSec = String(Math.ceil(server.read_timeout / 1000));

  /**
   * Answers with a receive error code. A refusal made before or while the body is read closes the
   * connection, so that the rest of the body is never read.
   */
  const refuse = (reply: FastifyReply, code: ReceiveErrorCode, message?: string) => {
    void reply.code(receiveErrors[code].status).header('connection', 'close');
    if (code === 'HL_BODY_BUDGET_EXHAUSTED') void reply.header('retry-after', retryAfterSec);
    return reply.send(errorBody(code, message));
  };

  app.addHook('onSend', async (_request, reply) => {
    if (deps.isClosing?.()) void reply.header('connection', 'close');
  });

  // A body sent to a path that does not exist is not worth reading. (The hooks on the hot path are in
  // callback style: an async hook costs a promise per request.)
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 || !hasBody(request.headers)) return done();
    deps.metrics.rejected.inc({ status: '404' });
    refuse(reply, 'HL_NOT_FOUND');
  });

  // Every body, on every route, is read under the budget and the read timeout (rule 0).
  app.addHook('preParsing', (request, reply, payload, done) => {
    const reservation = budget.admit(request.headers, request.routeOptions.bodyLimit ?? server.body_limit);
    if (reservation === undefined) return done(null, payload);
    if (reservation === 'full') {
      deps.metrics.rejected.inc({ status: '503' });
      return void refuse(reply, 'HL_BODY_BUDGET_EXHAUSTED');
    }
    // Answered, or the connection is gone (whatever the path): the bytes go back to the budget.
    reply.raw.once('close', reservation.release);
    // The whole body is due read_timeout after the request began.
    const timeoutMs = Math.max(0, server.read_timeout - reply.elapsedTime);
    const guarded = guardBody(payload, { reservation, chunked: declaredLength(request.headers) === undefined, timeoutMs });
    reply.raw.once('close', () => guarded.destroy());
    // Whichever scope's error handler answers, the connection closes: the rest of the body is not read.
    guarded.once('error', (error) => {
      if (!(error instanceof ReceiveError) || reply.raw.headersSent) return;
      reply.raw.setHeader('connection', 'close');
      if (error.code === 'HL_BODY_BUDGET_EXHAUSTED') reply.raw.setHeader('retry-after', retryAfterSec);
    });
    done(null, guarded);
  });


  app.setNotFoundHandler((_request, reply) => {
    deps.metrics.rejected.inc({ status: '404' });
    void reply.code(404).send(errorBody('HL_NOT_FOUND'));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A body refused on its declared length (413) before a byte of it was read is read and discarded
    // by Node, so that a sender still writing gets the answer rather than a reset. One refused while
    // being read is not read further: the connection closes.
    if (error.statusCode === 413 && !request.raw.readableDidRead) reply.removeHeader('connection');
    else if (!request.raw.complete) void reply.header('connection', 'close');
    if (error instanceof ReceiveError) {
      deps.metrics.rejected.inc({ status: String(error.statusCode) });
      if (error.code === 'HL_BODY_BUDGET_EXHAUSTED') void reply.header('retry-after', retryAfterSec);
      return reply.code(error.statusCode).send(errorBody(error.code, error.message));
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'HL_BODY_TOO_LARGE' : status < 500 ? 'HL_BAD_REQUEST' : undefined;
    deps.metrics.rejected.inc({ status: String(status) });
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

  // The webhook paths: the receive core answers on the raw request and response, from the moment the
  // head is in (hijacked before fastify parses anything). Every method comes here: the core answers
  // 405 to all but POST. (A callback-style hook: an async one costs a promise per request.)
  for (const source of deps.sources) {
    app.route({
      method: [...methods],
      url: source.path,
      // done is never called: the core answers, fastify does nothing more with this request.
      onRequest: (request, reply, _done) => {
        reply.hijack();
        deps.core.handle(request.raw, reply.raw, source);
      },
      handler: () => {},
    });
  }
  return app;
}
