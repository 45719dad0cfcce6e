import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { lifecycleStats, statsJson } from '../lifecycle/stats.ts';
import { flowRoutes } from '../flow/admin.ts';
import type { RecipeSet } from '../recipes/load.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Config } from '../config/schema.ts';
import { bearer, tokenMatches } from './auth.ts';
import { lifecycleRoutes } from './lifecycle.ts';
import { eventDetail, eventJson, eventSummaryJson, recipesJson, replayEvent, retryMessages, runJson, runStatusFilter, runStatuses, summariesTable, ticketId, ticketJson, ticketStatuses } from './operations.ts';
import { noStoredId, queryInt, queryText } from './query.ts';
import type { SourceJson } from './sources.ts';
import type { DryRunDeps } from '../engine/dry-run.ts';
import { bulkRoutes } from './bulk-routes.ts';

export interface AdminDeps {
  store: Store;
  clock: Clock;
  token: string | undefined;
  recipes: () => RecipeSet;
  /** The worker has something to do (a replay, a retry). */
  wake: () => void;
  /** Every configured source and hookline's own, with what this instance sees of them. */
  sources: () => SourceJson[];
  /** The config in force: POST /admin/forget needs the sources' transcript rules and the attachments folder. */
  config?: () => Pick<Config, 'sources' | 'attachments'>;
  /** The attachments folder, for GET /admin/stats (unset: its size is reported as 0). */
  attachmentsDir?: () => string;
  /** What a bulk replay's dry run evaluates with (the recipes and config in force). */
  dryRun?: (() => DryRunDeps) | undefined;
}

type Query = Record<string, string | string[] | undefined>;
const limitOf = (value: Query[string], fallback = 50) => Math.min(Math.max(queryInt(value) || fallback, 1), 1000);

/** The admin JSON API of PRODUCT §7: a bearer token; every path answers 404 when no token is configured. */
export async function adminApi(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { store, clock } = deps;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!deps.token) return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: 'no such endpoint' });
    if (!tokenMatches(bearer(request.headers.authorization), deps.token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ ok: false, code: 'HL_UNAUTHORIZED', error: 'missing or wrong admin token' });
    }
  });
  app.addHook('preValidation', async (request, reply) => {
    if (noStoredId(request.params)) return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: 'no record has an id with NUL in it' });
  });

  app.get('/sources', async () => ({ sources: deps.sources() }));

  app.get<{ Querystring: Query }>('/events', async (request, reply) => {
    const q = request.query;
    const before = queryInt(q.before);
    if (queryText(q.before) !== undefined && before === undefined) return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: 'before must be an event seq (a whole number)' });
    const events = await store.read.events({ source: queryText(q.source), type: queryText(q.type), limit: limitOf(q.limit), before, search: queryText(q.q) });
    return { events: events.map(eventSummaryJson) };
  });

  app.get<{ Params: { id: string }; Querystring: Query }>('/events/:id', async (request, reply) => {
    const seq = request.query.seq === undefined ? undefined : (queryInt(request.query.seq) ?? -1); // -1: a seq no receipt has
    const detail = await eventDetail(store, request.params.id, seq);
    return detail ?? reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no event ${request.params.id}` });
  });

  app.post<{ Params: { id: string } }>('/events/:id/replay', async (request, reply) => {
    const replayed = await replayEvent(store, request.params.id);
    if (!replayed) return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no event ${request.params.id}` });
    deps.wake();
    return reply.code(202).send({ ok: true, ...replayed });
  });

  app.get<{ Querystring: Query }>('/runs', async (request, reply) => {
    const q = request.query;
    const status = queryText(q.status, 20);
    if (status && !runStatuses.includes(status)) {
      return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: `status must be one of ${runStatuses.join(', ')}` });
    }
    const runs = await store.read.runs({ status: runStatusFilter(status), recipe: queryText(q.recipe), limit: limitOf(q.limit), before: queryText(q.before) });
    return { runs: runs.map(runJson) };
  });

  app.get<{ Params: { id: string } }>('/runs/:id', async (request, reply) => {
    const run = await store.read.run(request.params.id);
    if (!run) return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no run ${request.params.id}` });
    const event = await store.read.event(run.eventSeq);
    return { ...runJson(run), event: event ? eventJson(event) : null };
  });

  app.post<{ Params: { id: string } }>('/runs/:id/retry', async (request, reply) => {
    const result = await store.operations.retryRun(request.params.id, clock.now());
    if (result === 'retried') {
      deps.wake();
      return { ok: true, run: request.params.id, message: retryMessages.retried };
    }
    return reply.code(result === 'not_found' ? 404 : 409).send({ ok: false, code: `HL_${result.toUpperCase()}`, error: retryMessages[result] });
  });

  app.post('/runs/retry-all', async () => {
    const retried = await store.operations.retryAllDead(clock.now());
    if (retried > 0) deps.wake();
    return { ok: true, retried };
  });

  bulkRoutes(app, deps);

  app.get('/recipes', async () => {
    const json = recipesJson(deps.recipes());
    const paused = new Map((await store.flow.paused()).map((p) => [p.recipe, p.held]));
    return { ...json, recipes: json.recipes.map((r) => ({ ...r, paused: paused.has(r.name), held_runs: paused.get(r.name) ?? 0 })) };
  });
  flowRoutes(app, deps);

  app.get<{ Querystring: Query }>('/tickets', async (request, reply) => {
    const q = request.query;
    const status = queryText(q.status, 40);
    if (status !== undefined && !ticketStatuses.includes(status)) {
      return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: `status must be one of ${ticketStatuses.join(', ')}` });
    }
    const tickets = await store.read.tickets({ status, search: queryText(q.q), limit: limitOf(q.limit) });
    return { tickets: tickets.map(ticketJson) };
  });

  app.get<{ Params: { id: string } }>('/tickets/:id', async (request, reply) => {
    const id = ticketId(request.params.id);
    const ticket = id === undefined ? undefined : await store.read.ticket(id);
    return ticket ? ticketJson(ticket) : reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no ticket ${request.params.id}` });
  });

  app.get('/stats', async () => statsJson(await lifecycleStats(store, deps.attachmentsDir?.() ?? '', clock.now())));

  app.get<{ Querystring: Query }>('/summaries', async (request) => ({
    summaries: await store.read.tableRows(summariesTable, limitOf(request.query.limit)),
  }));

  // Data lifecycle: POST /admin/forget, GET /admin/erasures.
  if (deps.config) lifecycleRoutes(app, { store, clock, config: deps.config });
}
