import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Gauge } from 'prom-client';
import type { Config } from '../config/schema.ts';
import { ReceiveError, receiveErrors, type ReceiveErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Store } from '../store/types.ts';
import { BodyBudget, declaredLength, hasBody, type Reservation } from './body-budget.ts';
import { guardBody } from './body-guard.ts';
import { readBody } from './read-body.ts';
import { beginWebhook, errorBody, outcomeOf, type Delivery, type SourceSettings, type WebhookDeps } from './webhook.ts';

export interface ServerDeps extends WebhookDeps {
  config: Config;
  metrics: Metrics;
  sources: SourceSettings[];
  /** True once shutdown began: answers then carry `connection: close` so keep-alive sockets end. */
  isClosing?: () => boolean;
  /** Called with every answer a webhook route gives (the rejection watch). */
  onOutcome?: (source: string, outcome: string) => void;
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

/** Node's http server checks header and request deadlines this often (its default, 30 s, is too coarse). */
const deadlineCheckMs = 1_000;

/** The HTTP adapter: reads bytes, calls the receiving path, answers. No business logic here. */
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

  const budget = new BodyBudget(server.body_budget);
  new Gauge({
    name: 'hookline_body_budget_used_bytes',
    help: 'Bytes of request bodies being read or handled now, out of server.body_budget',
    registers: [deps.metrics.registry],
    collect() {
      this.set(budget.used);
    },
  });
  const retryAfterSec = String(Math.ceil(server.read_timeout / 1000));
  /** Every answer of a webhook route: counted in metrics, and seen by the watch for a wrong secret. */
  const counted = (source: string, outcome: string) => {
    deps.metrics.received.inc({ source, outcome });
    deps.onOutcome?.(source, outcome);
  };

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

  // What the hooks below hand on to a webhook route's parser and handler (a decoration, not a
  // WeakMap: a property of a stable shape costs nothing per request, a WeakMap entry costs the GC).
  app.decorateRequest('receiving', null);

  // Every body, on every route, is read under the budget and the read timeout (rule 0).
  app.addHook('preParsing', (request, reply, payload, done) => {
    const reservation = budget.admit(request.headers, request.routeOptions.bodyLimit ?? server.body_limit);
    if (reservation === undefined) return done(null, payload);
    if (reservation === 'full') {
      countRefusal(request, 'HL_BODY_BUDGET_EXHAUSTED');
      return void refuse(reply, 'HL_BODY_BUDGET_EXHAUSTED');
    }
    // Answered, or the connection is gone (whatever the path): the bytes go back to the budget.
    reply.raw.once('close', reservation.release);
    // The whole body is due read_timeout after the request began.
    const timeoutMs = Math.max(0, server.read_timeout - reply.elapsedTime);
    if (request.receiving) {
      // A webhook: its parser reads the body under the same rules (readBody), without a stream in between.
      request.receiving.reservation = reservation;
      request.receiving.timeoutMs = timeoutMs;
      return done(null, payload);
    }
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

  const countRefusal = (request: FastifyRequest, code: ReceiveErrorCode) => {
    const source = sourceOf(request);
    if (source) counted(source, outcomeOf(code));
    else deps.metrics.rejected.inc({ status: String(receiveErrors[code].status) });
  };

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
      countRefusal(request, error.code);
      if (error.code === 'HL_BODY_BUDGET_EXHAUSTED') void reply.header('retry-after', retryAfterSec);
      return reply.code(error.statusCode).send(errorBody(error.code, error.message));
    }
    const source = sourceOf(request);
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'HL_BODY_TOO_LARGE' : status < 500 ? 'HL_BAD_REQUEST' : undefined;
    if (source && code) counted(source, outcomeOf(code));
    else deps.metrics.rejected.inc({ status: String(status) });
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
    const { path } = source;
    void app.register(async (scope) => {
      // Rule 0: what the headers alone decide is answered before the body, which is then never read.
      scope.addHook('onRequest', (request, reply, done) => {
        if (request.method !== 'POST') {
          counted(source.name, outcomeOf('HL_METHOD_NOT_ALLOWED'));
          return void refuse(reply.header('allow', 'POST'), 'HL_METHOD_NOT_ALLOWED');
        }
        const begun = beginWebhook(deps, source, request.headers);
        if ('delivery' in begun) {
          request.receiving = { delivery: begun.delivery, reservation: undefined, timeoutMs: server.read_timeout };
          return done();
        }
        counted(source.name, begun.refused.outcome);
        deps.logger.info({ source: source.name, outcome: begun.refused.outcome, ip: request.ip }, 'webhook rejected');
        refuse(reply, begun.refused.body.code as ReceiveErrorCode);
      });
      // Webhooks are verified over their exact bytes, whatever content type the sender declares; the
      // bytes go to the delivery as they arrive, which computes the signature on the way.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (request, payload, done) => {
        const { delivery, reservation = budget.open(), timeoutMs } = request.receiving!;
        const options = { declared: declaredLength(request.headers), limit: server.body_limit, reservation, timeoutMs, onChunk: delivery.write };
        readBody(payload, options).then(() => done(null), done);
      });
      scope.addHook('onResponse', async (_request, reply) => {
        deps.metrics.ackLatency.observe({ source: source.name }, reply.elapsedTime / 1000);
      });
      scope.post(path, { config: { source: source.name } }, async (request, reply) => {
        const answer = await request.receiving!.delivery.receive();
        counted(source.name, answer.outcome);
        if (answer.status !== 200) deps.logger.info({ source: source.name, outcome: answer.outcome, ip: request.ip }, 'webhook rejected');
        return reply.code(answer.status).send(answer.body);
      });
      // Other methods are answered 405 by the onRequest hook already; this route makes the path match them.
      scope.route({ method: [...otherMethods], url: path, config: { source: source.name }, handler: async (_request, reply) => refuse(reply, 'HL_METHOD_NOT_ALLOWED') });
    });
  }
  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** A webhook whose head passed rule 0: its delivery, and what its body may take (set by the preParsing hook). */
    receiving: { delivery: Delivery; reservation: Reservation | undefined; timeoutMs: number } | null;
  }
}

function sourceOf(request: FastifyRequest): string | undefined {
  return (request.routeOptions.config as { source?: string } | undefined)?.source;
}
