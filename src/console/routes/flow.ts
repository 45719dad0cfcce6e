import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pauseRecipe, resumeRecipe } from '../../flow/pause.ts';
import type { Store } from '../../store/types.ts';
import { consoleUrl } from '../html.ts';
import type { Kit } from '../kit.ts';
import type { FlowView } from '../pages/flow.ts';

export async function flowView(store: Pick<Store, 'flow'>, csrf: string, now: number): Promise<FlowView> {
  const [paused, circuits, held] = await Promise.all([store.flow.paused(), store.flow.circuits(), store.flow.held()]);
  return { paused: new Map(paused.map((p) => [p.recipe, p.held])), circuits, held, csrf, now };
}

/** The Recipes page's pause and resume buttons (POST: the console's session, CSRF and origin checks apply). */
export async function flowRoutes(app: FastifyInstance, kit: Kit): Promise<void> {
  const { store, clock } = kit.deps;
  const known = (name: string) => kit.deps.recipes().recipes.has(name);
  const back = (recipe: string, notice: string) => consoleUrl('/recipes', { notice, recipe });

  app.post('/recipes/:name/pause', async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { name } = request.params;
    const result = await pauseRecipe(store, known, name, clock.now());
    return reply.redirect(back(name, result === 'paused' ? 'recipe_paused' : result === 'not_found' ? 'recipe_not_found' : 'recipe_unchanged'), 303);
  });

  app.post('/recipes/:name/resume', async (request: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { name } = request.params;
    const result = await resumeRecipe(store, known, name);
    if (result === 'resumed') kit.deps.wake();
    return reply.redirect(back(name, result === 'resumed' ? 'recipe_resumed' : result === 'not_found' ? 'recipe_not_found' : 'recipe_unchanged'), 303);
  });
}
