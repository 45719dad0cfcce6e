import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recipesJson, runStatusFilter, runStatuses, summariesTable, ticketId } from '../../admin/operations.ts';
import { html } from '../html.ts';
import { noticeOf, str, type Kit, type Query } from '../kit.ts';
import { flowView } from './flow.ts';
import { Overview, type OverviewData } from '../pages/overview.ts';
import { RecipeRuns, Recipes, recentRuns } from '../pages/recipes.ts';
import { Summaries, Ticket, Tickets } from '../pages/tickets.ts';

/** The overview, recipes, tickets and summaries: pages that only read. */
export async function infoRoutes(app: FastifyInstance, kit: Kit): Promise<void> {
  const { store, clock } = kit.deps;
  const { sampler } = kit;

  async function readiness(): Promise<true | string> {
    try {
      await store.ping();
      return true;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function overviewData(): Promise<OverviewData> {
    await sampler.sample();
    const set = kit.deps.recipes();
    return {
      minutes: sampler.series(),
      bounds: sampler.ackBounds(),
      counts: sampler.counts(),
      recipes: set.recipes.size,
      recipeErrors: set.diagnostics.length,
      store: { kind: store.kind, ready: await readiness() },
      receiving: kit.deps.receiving,
    };
  }

  // ------------------------------------------------------------ overview

  app.get('/', async (request, reply) => {
    const data = await overviewData();
    return kit.page(reply, request, 'Overview', 'overview', html`<${Overview} data=${data} />`);
  });
  app.get('/live/overview', async (_request, reply) => kit.fragment(reply, html`<${Overview} data=${await overviewData()} />`));

  // ------------------------------------------------------------ recipes

  app.get('/recipes', async (request, reply) => {
    const data = recipesJson(kit.deps.recipes());
    const counts = new Map<string, Record<string, number>>();
    for (const r of data.recipes) {
      const c: Record<string, number> = {};
      for (const run of await store.read.runs({ recipe: r.name, limit: recentRuns })) c[run.status] = (c[run.status] ?? 0) + 1;
      counts.set(r.name, c);
    }
    const flow = await flowView(store, kit.csrf(request), clock.now());
    return kit.page(reply, request, 'Recipes', 'recipes', html`<${Recipes} data=${data} counts=${counts} flow=${flow} ...${noticeOf(request.query as Query)} />`);
  });

  app.get('/recipes/:name', async (request: FastifyRequest<{ Params: { name: string }; Querystring: Query }>, reply) => {
    const name = request.params.name;
    const status = str(request.query.status, 20);
    const valid = status !== undefined && runStatuses.includes(status) ? status : undefined;
    const runs = await store.read.runs({ recipe: name, status: runStatusFilter(valid), limit: 100 });
    const rows = await Promise.all(runs.map(async (run) => ({ run, event: await kit.eventRef(run.eventSeq) })));
    const recipe = recipesJson(kit.deps.recipes()).recipes.find((r) => r.name === name);
    return kit.page(reply, request, `Recipe ${name}`, 'recipes', html`<${RecipeRuns} name=${name} recipe=${recipe} status=${valid} rows=${rows} now=${clock.now()} />`);
  });

  // ------------------------------------------------------------ tickets and summaries

  app.get('/tickets', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const q = str(request.query.q);
    const status = str(request.query.status, 40);
    const tickets = await store.read.tickets({ search: q, status, limit: 100 });
    return kit.page(reply, request, 'Tickets', 'tickets', html`<${Tickets} tickets=${tickets} q=${q} status=${status} now=${clock.now()} />`);
  });

  app.get('/tickets/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const id = ticketId(request.params.id);
    const ticket = id === undefined ? undefined : await store.read.ticket(id);
    if (!ticket) return kit.notFound(reply, request, `No ticket ${request.params.id}.`);
    const events = new Map<number, string>();
    for (const m of ticket.messages) {
      const ref = await kit.eventRef(m.eventSeq);
      if (ref) events.set(m.eventSeq, ref.id);
    }
    return kit.page(reply, request, `T-${ticket.id}: ${ticket.subject}`, 'tickets', html`<${Ticket} ticket=${ticket} events=${events} now=${clock.now()} />`);
  });

  app.get('/summaries', async (request, reply) => {
    const rows = await store.read.tableRows(summariesTable, 200);
    return kit.page(reply, request, 'Conversation summaries', 'summaries', html`<${Summaries} rows=${rows} />`);
  });

}
