import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sourceNamed } from '../../sources/configured.ts';
import { bodyDelivery, sampleDelivery, sampleNames, signDelivery } from '../../sources/test-delivery.ts';
import type { TestDelivery } from '../../sources/types.ts';
import { consoleUrl, html, type VNode } from '../html.ts';
import { intOf, str, type Form, type Kit, type Query } from '../kit.ts';
import { Arrival, PayloadField, SendPage, type Sent } from '../pages/send.ts';

/**
 * "Send test event": a sample (or edited JSON) signed exactly as `hookline send` signs it, posted to
 * this instance's own webhook path, then the stored event and its runs as they finish.
 */
export async function sendRoutes(app: FastifyInstance, kit: Kit): Promise<void> {
  const { deps } = kit;
  const { store, clock } = deps;

  // ------------------------------------------------------------ send a test event

  const schemeOf = (source: string) => sourceNamed(deps.config, source)!.scheme;
  const samples = Object.fromEntries(deps.receiving.map((source) => [source, sampleNames(schemeOf(source))]));

  function sendForm(request: FastifyRequest, extra: { chosen?: string | undefined; payload?: string | undefined; error?: string | undefined } = {}) {
    return { receiving: deps.receiving, samples, csrf: kit.csrf(request), ...extra };
  }

  /** "muro/conversation.opened" -> a source this instance receives and a sample name (split at the first /: Shopify's types have one). */
  function chosenEvent(value: string | undefined): { source: string; name: string } | undefined {
    const m = /^([a-z0-9_-]+)\/([\w.:/-]+)$/.exec(value ?? '');
    return m && deps.receiving.includes(m[1]!) ? { source: m[1]!, name: m[2]! } : undefined;
  }

  async function arrival(source: string, id: string): Promise<VNode> {
    const [event] = await store.read.receipts(id, source);
    const runs = event ? (await store.read.runsOfEvent(event.seq)).filter((r) => r.generation === event.generation) : [];
    return html`<${Arrival} source=${source} id=${id} event=${event} runs=${runs} />`;
  }

  app.get('/send', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const q = request.query;
    const source = str(q.source, 64);
    const id = str(q.id, 300);
    const status = intOf(q.status);
    const sent: Sent | undefined = source && id !== undefined && status !== undefined ? { source, id, status, answer: str(q.answer, 500) ?? '' } : undefined;
    const live = sent && sent.status === 200 ? await arrival(sent.source, sent.id) : undefined;
    return kit.page(reply, request, 'Send a test event', 'send', html`<${SendPage} form=${sendForm(request, { chosen: str(q.event, 100) })} sent=${sent} arrival=${live} />`);
  });

  app.get('/live/arrival', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const source = str(request.query.source, 64) ?? '';
    const id = str(request.query.id, 300) ?? '';
    return kit.fragment(reply, await arrival(source, id));
  });

  app.get('/live/sample', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
    const chosen = chosenEvent(str(request.query.event, 100));
    const event = chosen && sampleDelivery(schemeOf(chosen.source), chosen.name, Math.floor(clock.now() / 1000))?.body;
    return kit.fragment(reply, html`<${PayloadField} value=${event ? JSON.stringify(event, null, 2) : ''} />`);
  });

  app.post('/send', async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    const chosen = chosenEvent(form.event);
    const payload = form.payload?.trim() ? form.payload : undefined;
    const again = (error: string) => kit.page(reply, request, 'Send a test event', 'send', html`<${SendPage} form=${sendForm(request, { chosen: form.event, payload: form.payload, error })} sent=${undefined} />`, 400);
    if (!chosen) return again('Choose a source and type this instance receives.');
    const scheme = schemeOf(chosen.source);
    const nowSec = Math.floor(clock.now() / 1000);
    let event: TestDelivery | undefined;
    if (payload !== undefined) {
      let body: unknown;
      try {
        body = JSON.parse(payload);
      } catch (error) {
        return again(`The payload is not JSON: ${(error as Error).message}`);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return again('The payload must be a JSON object.');
      // The type of the chosen sample, for providers that send it in a header (GitHub, Shopify).
      event = await bodyDelivery(scheme, body as Record<string, unknown>, sampleDelivery(scheme, chosen.name, nowSec)?.type);
    } else {
      event = sampleDelivery(scheme, chosen.name, nowSec);
      if (!event) return again(`There is no ${chosen.source} sample "${chosen.name}".`);
    }
    const secret = deps.secrets[chosen.source]?.[0];
    if (!secret) return again(`sources.${chosen.source}.secrets is empty.`);
    const delivery = signDelivery(scheme, event, secret, nowSec);
    const url = `${deps.selfUrl()}${deps.config.sources[chosen.source]!.path}`;
    let status: number;
    let answer: string;
    try {
      const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body, signal: AbortSignal.timeout(15_000) });
      status = response.status;
      answer = (await response.text()).slice(0, 500);
    } catch (error) {
      return again(`Could not post to ${url}: ${(error as Error).message}`);
    }
    deps.logger.info({ source: chosen.source, id: delivery.id, status }, 'console: test event sent');
    return reply.redirect(consoleUrl('/send', { event: form.event, source: chosen.source, id: delivery.id || '(none)', status, answer }), 303);
  });
}
