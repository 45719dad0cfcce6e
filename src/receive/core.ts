import type { IncomingMessage, ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import { ReceiveError, receiveErrors, type ReceiveErrorCode } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { BodyBudget } from './body-budget.ts';
import { declaredLength } from './body-budget.ts';
import { readBody } from './read-body.ts';
import { beginWebhook, errorBody, outcomeOf, type SourceSettings, type WebhookAnswer, type WebhookDeps } from './webhook.ts';

/**
 * The receiving path of PRODUCT §1 on Node's own request and response, for any HTTP framework: the
 * fastify server and the express router are thin adapters that route a webhook path here (as
 * octokit's middleware does). Rule 0 before the body (401, 405, 413 on the declared length, 503 when
 * the budget is full), the body read under the limit, the budget and the read timeout, then verify,
 * read, store and answer — with the same one-line JSON answers, metrics and logs whoever calls it.
 */

export interface ReceiveLimits {
  /** server.body_limit: a larger body gets 413. */
  bodyLimit: number;
  /** server.read_timeout: the whole body must have arrived this long after the request began (else 408). */
  readTimeoutMs: number;
}

export interface ReceiveCoreDeps extends WebhookDeps {
  metrics: Metrics;
  limits: ReceiveLimits;
  /** server.body_budget: the bytes of bodies being read and handled at once, shared with the adapter's other routes. */
  budget: BodyBudget;
  /** True once shutdown began: answers then carry `connection: close` so keep-alive sockets end. */
  isClosing?: () => boolean;
  /** Every answer a webhook path gives, by source and outcome (the watch for a wrong secret). */
  onOutcome?: (source: string, outcome: string) => void;
}

export interface ReceiveCore {
  readonly budget: BodyBudget;
  /** The source received at `path` (exact match), if any. */
  sourceAt(path: string): SourceSettings | undefined;
  /** Answers one request to `source`'s path; `startedAt` (performance.now()) is when the request began. */
  handle(req: IncomingMessage, res: ServerResponse, source: SourceSettings, startedAt?: number): void;
}

export function createReceiveCore(deps: ReceiveCoreDeps, sources: readonly SourceSettings[]): ReceiveCore {
  const { budget, limits, metrics, logger } = deps;
  const byPath = new Map(sources.map((s) => [s.path, s]));
  const retryAfterSec = String(Math.ceil(limits.readTimeoutMs / 1000));
  new Gauge({
    name: 'hookline_body_budget_used_bytes',
    help: 'Bytes of request bodies being read or handled now, out of server.body_budget',
    registers: [metrics.registry],
    collect() {
      this.set(budget.used);
    },
  });

  /** One line of JSON. `close`: the rest of the body (if any) is not read, the connection ends. */
  function send(res: ServerResponse, status: number, body: Record<string, unknown>, close: boolean, extra: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return; // the client is gone: nobody to answer
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...(close || deps.isClosing?.() ? { connection: 'close' } : {}),
      ...extra,
    });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse, source: SourceSettings, startedAt = performance.now()): void {
    const counted = (outcome: string) => {
      metrics.received.inc({ source: source.name, outcome });
      deps.onOutcome?.(source.name, outcome);
    };
    const rejected = (outcome: string) => logger.info({ source: source.name, outcome, ip: req.socket.remoteAddress }, 'webhook rejected');
    const refuse = (code: ReceiveErrorCode, message?: string, close = true, extra: Record<string, string> = {}) => {
      counted(outcomeOf(code));
      rejected(outcomeOf(code));
      send(res, receiveErrors[code].status, errorBody(code, message), close, code === 'HL_BODY_BUDGET_EXHAUSTED' ? { 'retry-after': retryAfterSec } : extra);
    };
    const answer = (a: WebhookAnswer) => {
      counted(a.outcome);
      if (a.status !== 200) rejected(a.outcome);
      send(res, a.status, a.body, false);
    };
    const failed = (error: unknown) => {
      logger.error({ err: error, source: source.name }, 'webhook request failed');
      send(res, 500, { ok: false, code: 'HL_INTERNAL', error: 'internal error' }, true);
    };
    res.once('finish', () => metrics.ackLatency.observe({ source: source.name }, (performance.now() - startedAt) / 1000));

    if (req.method !== 'POST') return refuse('HL_METHOD_NOT_ALLOWED', undefined, true, { allow: 'POST' });
    // Rule 0: what the head alone decides is answered before the body, which is then never read.
    const begun = beginWebhook(deps, source, req.headers);
    if ('refused' in begun) {
      counted(begun.refused.outcome);
      rejected(begun.refused.outcome);
      return send(res, begun.refused.status, begun.refused.body, true);
    }
    const declared = declaredLength(req.headers);
    // Refused on its declared length before a byte is read: Node reads and discards the body, so that
    // a sender still writing gets the answer rather than a reset.
    if (declared !== undefined && declared > limits.bodyLimit) return refuse('HL_BODY_TOO_LARGE', undefined, false);
    const admitted = budget.admit(req.headers, limits.bodyLimit);
    if (admitted === 'full') return refuse('HL_BODY_BUDGET_EXHAUSTED');
    const reservation = admitted ?? budget.open();
    // Answered, aborted or timed out: the bytes go back to the budget.
    res.once('close', reservation.release);
    const timeoutMs = Math.max(0, limits.readTimeoutMs - (performance.now() - startedAt));
    readBody(req, { declared, limit: limits.bodyLimit, reservation, timeoutMs, onChunk: begun.delivery.write }).then(
      () => begun.delivery.receive().then(answer, failed),
      (error: unknown) => (error instanceof ReceiveError ? refuse(error.code, error.message) : failed(error)),
    );
  }

  return { budget, sourceAt: (path) => byPath.get(path), handle };
}
