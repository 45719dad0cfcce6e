import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import { InputError } from '../lifecycle/errors.ts';
import { forget, orderedCounts, type ForgetResult } from '../lifecycle/forget.ts';
import type { ErasureRecord, Store } from '../store/types.ts';
import type { Clock } from '../util/clock.ts';
import { queryInt } from './query.ts';

export const erasureJson = (e: ErasureRecord) => ({ id: e.id, requested_by: e.requestedBy, requested_at: new Date(e.requestedAt).toISOString(), counts: orderedCounts(e.counts) });

/** The answer of POST /admin/forget, and `hookline forget --json`. */
export const forgetJson = (r: ForgetResult) => ({ ok: true, ...(r.id ? { id: r.id } : {}), dry_run: r.dryRun, counts: r.counts, files_left: r.filesLeft });

/** POST /admin/forget and GET /admin/erasures (PRODUCT §10); registered inside the admin API's auth. */
export function lifecycleRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; config: () => Pick<Config, 'sources' | 'attachments'> }): void {
  app.post<{ Body: unknown }>('/forget', async (request, reply) => {
    const body = request.body as { email?: unknown; dry_run?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: 'expected a JSON object: { "email": "dana@example.com", "dry_run": false }' });
    }
    if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: 'dry_run must be true or false' });
    try {
      const result = await forget({ store: deps.store, config: deps.config(), clock: deps.clock }, { email: body.email, requestedBy: 'admin', dryRun: body.dry_run === true });
      return forgetJson(result);
    } catch (error) {
      if (error instanceof InputError) return reply.code(400).send({ ok: false, code: 'HL_BAD_REQUEST', error: error.message });
      throw error;
    }
  });

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/erasures', async (request) => ({
    erasures: (await deps.store.erasure.erasures(Math.min(Math.max(queryInt(request.query.limit) || 50, 1), 1000))).map(erasureJson),
  }));
}
