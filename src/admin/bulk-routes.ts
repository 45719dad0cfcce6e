import type { FastifyInstance } from 'fastify';
import type { DryRunDeps } from '../engine/dry-run.ts';
import type { Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { BulkTooLargeError, bulkReplay, bulkRetry, dryRunReplay, operationJson, parseBulkFilter, type BulkInput } from './bulk.ts';

export interface BulkRouteDeps {
  store: Store;
  clock: Clock;
  wake: () => void;
  /** What a dry run evaluates with: the recipes and config in force. */
  dryRun?: (() => DryRunDeps) | undefined;
}

type Body = BulkInput & { dry_run?: unknown; again?: unknown };

const bad = (error: string) => ({ ok: false, code: 'HL_BAD_REQUEST', error });

/**
 * POST /admin/replay and POST /admin/runs/retry: a JSON filter ({ since, until, source, type,
 * recipe, status }, times as ISO or a duration ago), `again`, and for replay `dry_run`. They answer
 * the counts and the items; GET /admin/bulk-operations lists the operations recorded.
 */
export function bulkRoutes(app: FastifyInstance, deps: BulkRouteDeps): void {
  const { store, clock } = deps;
  const bodyOf = (body: unknown): Body | undefined => (body === undefined || body === null ? {} : typeof body === 'object' && !Array.isArray(body) ? (body as Body) : undefined);
  const flag = (value: unknown) => value === true || value === 'true';

  app.post('/replay', async (request, reply) => {
    const body = bodyOf(request.body);
    if (!body) return reply.code(400).send(bad('expected a JSON object: { since, until, source, type, recipe, status, dry_run, again }'));
    const parsed = parseBulkFilter(body, 'replay', clock.now());
    if ('error' in parsed) return reply.code(400).send(bad(parsed.error));
    if (Object.keys(parsed.filter).length === 0) return reply.code(400).send(bad('give at least one filter (since, until, source, type, recipe, status): replaying every event is not a bulk operation anyone means'));
    try {
      if (flag(body.dry_run)) {
        if (!deps.dryRun) return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: 'dry runs are not available here' });
        return { ok: true, dry_run: true, ...(await dryRunReplay(store, parsed.filter, deps.dryRun())) };
      }
      const outcome = await bulkReplay(store, parsed.filter, { again: flag(body.again), now: clock.now() });
      if (outcome.done > 0) deps.wake();
      return { ok: true, ...outcome };
    } catch (error) {
      if (error instanceof BulkTooLargeError) return reply.code(400).send(bad(error.message));
      throw error;
    }
  });

  app.post('/runs/retry', async (request, reply) => {
    const body = bodyOf(request.body);
    if (!body) return reply.code(400).send(bad('expected a JSON object: { since, until, source, type, recipe, again }'));
    const parsed = parseBulkFilter(body, 'retry', clock.now());
    if ('error' in parsed) return reply.code(400).send(bad(parsed.error));
    try {
      const outcome = await bulkRetry(store, parsed.filter, { again: flag(body.again), now: clock.now() });
      if (outcome.done > 0) deps.wake();
      return { ok: true, ...outcome };
    } catch (error) {
      if (error instanceof BulkTooLargeError) return reply.code(400).send(bad(error.message));
      throw error;
    }
  });

  app.get('/bulk-operations', async () => ({ operations: (await store.bulk.operations(100)).map(operationJson) }));
}
