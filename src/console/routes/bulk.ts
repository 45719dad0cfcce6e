import type { FastifyInstance } from 'fastify';
import { BulkTooLargeError, bulkReplay, countReplay, parseBulkFilter } from '../../admin/bulk.ts';
import { eventSourcesOf } from '../../sources/configured.ts';
import { consoleUrl, html } from '../html.ts';
import { intOf, str, type Form, type Kit, type Query } from '../kit.ts';
import { BulkReplay, type BulkReplayData } from '../pages/bulk-replay.ts';

const fields = ['since', 'until', 'source', 'type', 'recipe', 'status'] as const;

/** Replay by filter: count, confirm, replay (the same operation as POST /admin/replay and `hookline replay --since`). */
export async function bulkRoutes(app: FastifyInstance, kit: Kit): Promise<void> {
  const { store, clock } = kit.deps;
  const formOf = (q: Query | Form) => Object.fromEntries(fields.map((f) => [f, str(q[f], 300) ?? ''])) as BulkReplayData['form'];
  const base = (form: BulkReplayData['form']): BulkReplayData => ({
    form,
    sources: eventSourcesOf(kit.deps.config).map((s) => s.name),
    recipes: [...kit.deps.recipes().recipes.keys()].sort(),
  });

  app.get<{ Querystring: Query }>('/replay', async (request, reply) => {
    const q = request.query;
    const data = base(formOf(q));
    const done = intOf(q.done);
    if (done !== undefined) data.notice = `${done} event${done === 1 ? '' : 's'} replayed${intOf(q.skipped) ? `; ${intOf(q.skipped)} skipped: already replayed by an earlier bulk replay` : ''}${str(q.op, 40) ? ` (operation ${str(q.op, 40)})` : ''}.`;
    if (fields.some((f) => data.form[f] !== '')) {
      const parsed = parseBulkFilter(data.form, 'replay', clock.now());
      if ('error' in parsed) data.error = parsed.error;
      else {
        try {
          data.count = await countReplay(store, parsed.filter);
        } catch (error) {
          if (!(error instanceof BulkTooLargeError)) throw error;
          data.error = error.message;
        }
      }
    }
    return kit.page(reply, request, 'Replay by filter', 'events', html`<${BulkReplay} data=${data} csrf=${kit.csrf(request)} />`, data.error ? 400 : 200);
  });

  app.post<{ Body: Form }>('/replay', async (request, reply) => {
    const form = formOf(request.body ?? {});
    const parsed = parseBulkFilter(form, 'replay', clock.now());
    const refuse = (error: string) => kit.page(reply, request, 'Replay by filter', 'events', html`<${BulkReplay} data=${{ ...base(form), error }} csrf=${kit.csrf(request)} />`, 400);
    if ('error' in parsed) return refuse(parsed.error);
    if (Object.keys(parsed.filter).length === 0) return refuse('give at least one filter: replaying every event is not a bulk operation anyone means');
    try {
      const outcome = await bulkReplay(store, parsed.filter, { again: request.body?.again === 'true', now: clock.now() });
      if (outcome.done > 0) kit.deps.wake();
      return reply.redirect(consoleUrl('/replay', { done: outcome.done, skipped: outcome.skipped_already, op: outcome.operation ?? undefined }), 303);
    } catch (error) {
      if (error instanceof BulkTooLargeError) return refuse(error.message);
      throw error;
    }
  });
}
