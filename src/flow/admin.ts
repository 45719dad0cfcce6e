import type { FastifyInstance } from 'fastify';
import type { AdminDeps } from '../admin/api.ts';
import { flowJson, pauseMessages, pauseRecipe, resumeRecipe } from './pause.ts';

/** The admin API of flow control: pause and resume a recipe, and what is held (behind the admin token like the rest). */
export function flowRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { store, clock } = deps;
  const known = (name: string) => deps.recipes().recipes.has(name);

  app.post<{ Params: { name: string } }>('/recipes/:name/pause', async (request, reply) => {
    const result = await pauseRecipe(store, known, request.params.name, clock.now());
    if (result === 'not_found') return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no recipe ${request.params.name}` });
    return { ok: true, recipe: request.params.name, paused: true, changed: result === 'paused', message: pauseMessages[result] };
  });

  app.post<{ Params: { name: string } }>('/recipes/:name/resume', async (request, reply) => {
    const result = await resumeRecipe(store, known, request.params.name);
    if (result === 'not_found') return reply.code(404).send({ ok: false, code: 'HL_NOT_FOUND', error: `no recipe ${request.params.name}` });
    if (result === 'resumed') deps.wake();
    return { ok: true, recipe: request.params.name, paused: false, changed: result === 'resumed', message: pauseMessages[result] };
  });

  app.get('/flow', async () => flowJson(store));
}
