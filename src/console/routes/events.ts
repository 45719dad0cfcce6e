import type { FastifyInstance, FastifyRequest } from 'fastify';
import { replayEvent } from '../../admin/operations.ts';
import { eventSourcesOf } from '../../sources/configured.ts';
import type { EventRecord, RetryResult } from '../../store/types.ts';
import { consoleUrl, eventUrl, html } from '../html.ts';
import { intOf, noticeOf, str, type Kit, type Query } from '../kit.ts';
import { listEvents, outcomes, type EventQuery, type Outcome } from '../outcome.ts';
import { ConfirmRetry, ConfirmRetryAll, DeadLetters, type DeadRow } from '../pages/dead.ts';
import { EventDetail, Runs, type EventDetailData } from '../pages/event.ts';
import { EventRows, Events, type EventsData } from '../pages/events.ts';

/** Events, an event with its runs, replays, retries and dead letters. */
export async function eventRoutes(app: FastifyInstance, kit: Kit): Promise<void> {
  const { store, clock } = kit.deps;

  function recipeSteps(): EventDetailData['recipeSteps'] {
    return new Map([...kit.deps.recipes().recipes.values()].map((r) => [r.name, r.steps.map((s) => ({ id: s.id, action: s.kind === 'wait' ? 'wait_for' : s.action.name }))]));
  }

  function eventQuery(q: Query): EventQuery {
    const outcome = str(q.outcome, 20);
    return {
      source: str(q.source, 64),
      type: str(q.type, 200),
      search: str(q.q, 300),
      outcome: outcomes.includes(outcome as Outcome) ? (outcome as Outcome) : undefined,
      before: intOf(q.before),
      limit: 50,
    };
  }

  async function eventsData(q: Query): Promise<EventsData> {
    const query = eventQuery(q);
    return { sources: eventSourcesOf(kit.deps.config).map((s) => s.name), query, ...(await listEvents(store, query)), now: clock.now() };
  }

  async function findEvent(id: string, seq: number | undefined): Promise<{ event: EventRecord; receipts: number[] } | undefined> {
    const receipts = await store.read.receipts(id);
    const event = seq === undefined ? receipts[0] : receipts.find((r) => r.seq === seq);
    return event && { event, receipts: receipts.map((r) => r.seq) };
  }

  // ------------------------------------------------------------ events

  app.get('/events', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const data = await eventsData(request.query);
    return kit.page(reply, request, 'Events', 'events', html`<${Events} data=${data} />`);
  });
  app.get('/live/events', async (request: FastifyRequest<{ Querystring: Query }>, reply) => kit.fragment(reply, html`<${EventRows} data=${await eventsData(request.query)} />`));

  app.get('/events/:id', async (request: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply) => {
    const found = await findEvent(request.params.id, intOf(request.query.seq));
    if (!found) return kit.notFound(reply, request, `No event ${request.params.id}.`);
    const data: EventDetailData = {
      ...found,
      runs: await store.read.runsOfEvent(found.event.seq),
      recipeSteps: recipeSteps(),
      now: clock.now(),
      csrf: kit.csrf(request),
      ...noticeOf(request.query),
    };
    return kit.page(reply, request, `${found.event.source} ${found.event.type}`, 'events', html`<${EventDetail} data=${data} />`);
  });

  app.get('/live/runs', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const found = await findEvent(str(request.query.id, 1000) ?? '', intOf(request.query.seq));
    if (!found) return reply.code(404).send('');
    return kit.fragment(reply, html`<${Runs} data=${{ event: found.event, runs: await store.read.runsOfEvent(found.event.seq), recipeSteps: recipeSteps(), now: clock.now() }} />`);
  });

  app.post('/events/:id/replay', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const replayed = await replayEvent(store, request.params.id);
    if (!replayed) return kit.notFound(reply, request, `No event ${request.params.id}.`);
    kit.deps.wake();
    return reply.redirect(`${eventUrl(request.params.id, replayed.seq)}&notice=replayed`, 303);
  });

  // ------------------------------------------------------------ runs and dead letters

  app.get('/runs/:id/retry', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const run = await store.read.run(request.params.id);
    if (!run) return kit.notFound(reply, request, `No run ${request.params.id}.`);
    return kit.page(reply, request, 'Retry a dead run', 'dead', html`<${ConfirmRetry} run=${run} event=${await kit.eventRef(run.eventSeq)} csrf=${kit.csrf(request)} />`);
  });

  app.post('/runs/:id/retry', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const id = request.params.id;
    const result: RetryResult = await store.operations.retryRun(id, clock.now());
    if (result === 'retried') kit.deps.wake();
    const run = result === 'not_found' ? undefined : await store.read.run(id);
    const event = run && (await kit.eventRef(run.eventSeq));
    if (!event) return reply.redirect(consoleUrl('/dead', { notice: result }), 303);
    return reply.redirect(`${eventUrl(event.id, event.seq)}&notice=${result}#run-${encodeURIComponent(id)}`, 303);
  });

  async function deadRows(): Promise<DeadRow[]> {
    const runs = await store.read.runs({ status: 'dead', limit: 1000 });
    return Promise.all(runs.map(async (run) => ({ run, event: await kit.eventRef(run.eventSeq) })));
  }

  app.get('/dead', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const rows = await deadRows();
    return kit.page(reply, request, 'Dead letters', 'dead', html`<${DeadLetters} rows=${rows} now=${clock.now()} ...${noticeOf(request.query)} />`);
  });

  app.get('/dead/retry-all', async (request, reply) => {
    const count = (await store.read.runs({ status: 'dead', limit: 1000 })).length;
    return kit.page(reply, request, 'Retry all dead runs', 'dead', html`<${ConfirmRetryAll} count=${count} csrf=${kit.csrf(request)} />`);
  });

  app.post('/dead/retry-all', async (_request, reply) => {
    const retried = await store.operations.retryAllDead(clock.now());
    if (retried > 0) kit.deps.wake();
    return reply.redirect(consoleUrl('/dead', { notice: 'retried_all', n: retried }), 303);
  });

}
