import '@shopify/shopify-api/adapters/web-api';
import { createHmac } from 'node:crypto';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { getHmac as shopifyHmac } from '@shopify/shopify-api/test-helpers';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startHookline, type Hookline } from '../../src/hookline.ts';
import { sourceNamed } from '../../src/sources/configured.ts';
import { findSample } from '../../src/sources/samples.ts';
import type { SourceScheme } from '../../src/sources/types.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { describeBackends, sqlite, type Backend, type FreshStore } from '../helpers/backends.ts';
import { bin } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { rawConnect, requestHead, within } from '../receive/raw-http.ts';

// All seven presets at once, in one hookline on a real socket and a real store: one recipe per
// source end to end (signed by each provider's own library where there is one), rotation per
// source, every rejection of PRODUCT §1 per source through the server, and `hookline send` for
// every configured source.

const run = promisify(execFile);
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Two secrets per source: the one being retired and the current one (a rotation in progress). */
const secrets: Record<string, [old: string, current: string]> = {
  muro: ['muro-old-secret-0001', 'muro-current-secret-0002'],
  meru: ['whsec_meru_old_secret_0001', 'whsec_meru_current_secret_0002'],
  app: [`whsec_${b64('app-old-key-bytes-0001')}`, `whsec_${b64('app-current-key-bytes-0002')}`],
  gh: ['gh-old-secret-0001', 'gh-current-secret-0002'],
  stripe: ['whsec_stripe_old_0001', 'whsec_stripe_current_0002'],
  shop: ['shop-old-secret-0001', 'shop-current-secret-0002'],
  custom: ['custom-old-secret-0001', 'custom-current-secret-0002'],
};

function configText(dir: string, storeUrl: string, keep: 'both' | 'current' = 'both', port = 0): string {
  const list = (name: string) => JSON.stringify(keep === 'both' ? secrets[name] : [secrets[name]![1]]);
  return `server: { host: 127.0.0.1, port: ${port}, body_limit: 64kb }
store: { url: ${JSON.stringify(storeUrl)} }
recipes: ${join(dir, 'recipes')}
attachments: ${join(dir, 'attachments')}
data_dir: ${dir}
log: { level: silent }
retry: { schedule: [1s], jitter: 0 }
sources:
  muro:   { secrets: ${list('muro')} }
  meru:   { secrets: ${list('meru')} }
  app:    { preset: standard-webhooks, secrets: ${list('app')} }
  gh:     { preset: github, path: /github/webhook, secrets: ${list('gh')} }
  stripe: { preset: stripe, secrets: ${list('stripe')} }
  shop:   { preset: shopify, path: /shopify/webhook, secrets: ${list('shop')} }
  custom:
    preset: hmac
    secrets: ${list('custom')}
    signature: { header: x-signature, prefix: "sha256=", signed: "{timestamp}.{body}", timestamp_header: x-timestamp }
    id: body.event_id
    type: headers."x-event"
`;
}

interface Provider {
  source: string;
  /** The event of the end-to-end delivery, with a fresh id where the body carries it. */
  event(id: string): Record<string, unknown>;
  type: string;
  /** Headers as the provider's own library (or its documented algorithm) signs them. */
  sign(body: string, secret: string, t: number, id: string): Promise<Record<string, string>> | Record<string, string>;
  /** The recipe's trigger and the JSONata of what it forwards; what arrives. */
  on: string;
  what: string;
  expected: unknown;
}

const stripe = new Stripe('sk_test_not_used_no_network');
const muroSig = (secret: string, t: number, body: string) => createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
const sampleBody = (scheme: Pick<SourceScheme, 'samples'>, name: string) => findSample(scheme, name)!.body;

function providers(schemeOf: (source: string) => SourceScheme): Provider[] {
  return [
    {
      source: 'muro',
      type: 'conversation.opened',
      event: (id) => ({ ...sampleBody(schemeOf('muro'), 'conversation.opened'), id }),
      sign: (body, secret, t) => ({ 'content-type': 'application/json', 'x-muro-signature': `t=${t},v1=${muroSig(secret, t, body)}` }),
      on: 'muro/conversation.opened',
      what: 'data.visitor.name',
      expected: 'Dana Whitfield',
    },
    {
      source: 'meru',
      type: 'email.received',
      event: (id) => ({ ...sampleBody(schemeOf('meru'), 'email.reply'), event_id: id }),
      sign: (body, secret, t) => ({ 'content-type': 'application/json', 'meru-signature': `v1,t=${t},s=${muroSig(secret, t, body)}` }),
      on: 'meru/email.received',
      what: 'headers.subject',
      expected: expect.stringMatching(/^Re: /),
    },
    {
      source: 'app',
      type: 'invoice.paid',
      event: () => sampleBody(schemeOf('app'), 'invoice.paid'),
      sign: (body, secret, t, id) => ({ 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': new StandardWebhook(secret).sign(id, new Date(t * 1000), body) }),
      on: 'app/invoice.*',
      what: 'data.amount_paid',
      expected: 129900,
    },
    {
      source: 'gh',
      type: 'issues.opened',
      event: () => sampleBody(schemeOf('gh'), 'issues.opened'),
      sign: async (body, secret, _t, id) => ({ 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': id, 'x-hub-signature-256': await octokitSign(secret, body) }),
      on: 'gh/issues.opened',
      what: 'issue.title',
      expected: 'Checkout button does nothing on Safari',
    },
    {
      source: 'stripe',
      type: 'payment_intent.succeeded',
      event: (id) => ({ ...sampleBody(schemeOf('stripe'), 'payment_intent.succeeded'), id }),
      sign: (body, secret, t) => ({ 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: t }) }),
      on: 'stripe/payment_intent.*',
      what: 'data.object.amount',
      expected: 4900,
    },
    {
      source: 'shop',
      type: 'orders/create',
      event: () => sampleBody(schemeOf('shop'), 'orders.create'),
      sign: (body, secret, _t, id) => ({ 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-webhook-id': id, 'x-shopify-hmac-sha256': shopifyHmac(body, secret) }),
      on: 'shop/orders/create',
      what: 'name',
      expected: '#1042',
    },
    {
      source: 'custom',
      type: 'order.paid',
      event: (id) => ({ event_id: id, order: { total: 42 } }),
      sign: (body, secret, t) => ({
        'content-type': 'application/json',
        'x-timestamp': String(t),
        'x-event': 'order.paid',
        'x-signature': `sha256=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`,
      }),
      on: 'custom/order.paid',
      what: 'order.total',
      expected: 42,
    },
  ];
}

interface Running {
  hl: Hookline;
  dir: string;
  db: FreshStore;
  destination: Destination;
  provider: (source: string) => Provider;
  schemeOf: (source: string) => SourceScheme;
  stop(): Promise<void>;
}

async function startAllSeven(backend: Backend): Promise<Running> {
  const temp = tempDir('hookline-presets-');
  const db = await backend.fresh(temp.dir);
  const destination = await startDestination();
  const config = parseConfig(join(temp.dir, 'hookline.yaml'), configText(temp.dir, db.url), {}, temp.dir);
  const schemeOf = (source: string) => sourceNamed(config, source)!.scheme;
  const all = providers(schemeOf);
  for (const p of all) {
    writeRecipe(
      temp.dir,
      `forward-${p.source}`,
      `on: ${p.on}\nsteps:\n  - id: forward\n    http:\n      url: ${destination.origin}/${p.source}\n      body: { source: "{{ source }}", type: "{{ type }}", id: "{{ id }}", what: "{{ ${p.what} }}" }\n`,
    );
  }
  const hl = await startHookline({ config, worker: false });
  return {
    hl,
    dir: temp.dir,
    db,
    destination,
    schemeOf,
    provider: (source) => all.find((p) => p.source === source)!,
    stop: async () => {
      await hl.close();
      await destination.close();
      await db.drop();
      temp.cleanup();
    },
  };
}

const nowSec = () => Math.floor(Date.now() / 1000);
let n = 0;
const freshId = (source: string) => `evt_${source}_${process.pid}_${++n}`;

async function deliver(r: Running, p: Provider, secret: string, opts: { id?: string; t?: number; body?: string } = {}) {
  const id = opts.id ?? freshId(p.source);
  const body = opts.body ?? JSON.stringify(p.event(id));
  const headers = await p.sign(body, secret, opts.t ?? nowSec(), id);
  return { id, answer: await send(`${r.hl.url}${r.hl.config.sources[p.source]!.path}`, { body, headers }) };
}

const sources = Object.keys(secrets);

describeBackends('all seven presets in one hookline', (backend) => {
  let r: Running;
  beforeAll(async () => {
    r = await startAllSeven(backend);
  });
  afterAll(() => r.stop());

  it('one recipe per source, end to end: signed by the provider, verified, stored, dispatched, forwarded', async () => {
    const sent = new Map<string, string>();
    for (const source of sources) {
      const p = r.provider(source);
      const { id, answer } = await deliver(r, p, secrets[source]![1]);
      expect(answer.json, source).toEqual({ ok: true, id });
      sent.set(source, id);
    }
    await r.hl.worker.drain();
    await r.destination.arrived(sources.length);
    for (const source of sources) {
      const p = r.provider(source);
      const request = r.destination.requests.find((q) => q.path === `/${source}`);
      expect(request?.body, source).toEqual({ source, type: p.type, id: sent.get(source), what: p.expected });
    }
    // Each event is stored under its source, with its signature headers left out.
    for (const source of sources) {
      const [event] = await r.hl.store.read.receipts(sent.get(source)!, source);
      expect(event, source).toMatchObject({ source, type: r.provider(source).type });
      for (const header of r.schemeOf(source).signatureHeaders) expect(event!.headers[header], `${source} ${header}`).toBeUndefined();
    }
  });

  it('a redelivery is a duplicate for every source (dedup on its own id), also for providers without a replay window', async () => {
    for (const source of sources) {
      const p = r.provider(source);
      const id = freshId(source);
      const body = JSON.stringify(p.event(id));
      const first = await deliver(r, p, secrets[source]![1], { id, body });
      expect(first.answer.status, source).toBe(200);
      // Signed again a moment later, as a provider's retry is.
      const again = await deliver(r, p, secrets[source]![1], { id, body, t: nowSec() + 1 });
      expect(again.answer.json, source).toEqual({ ok: true, duplicate: true });
    }
  });

  it('accepts either secret of each source during a rotation; after the reload that removes the old one, only the new', async () => {
    for (const source of sources) {
      for (const secret of secrets[source]!) expect((await deliver(r, r.provider(source), secret)).answer.status, `${source} ${secret}`).toBe(200);
    }
    const next = parseConfig(join(r.dir, 'hookline.yaml'), configText(r.dir, r.hl.config.store.url, 'current'), {}, r.dir);
    const reload = r.hl.reloadConfig(next, 'test');
    expect(reload.applied.sort()).toEqual(sources.map((s) => `sources.${s}.secrets`).sort());
    expect(reload.restart).toEqual([]);
    for (const source of sources) {
      const [old, current] = secrets[source]!;
      expect((await deliver(r, r.provider(source), old)).answer.json, `${source} old`).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
      expect((await deliver(r, r.provider(source), current)).answer.status, `${source} current`).toBe(200);
    }
  });
});

describe('every rejection of PRODUCT §1, for every preset, through the server', () => {
  let r: Running;
  beforeAll(async () => {
    r = await startAllSeven(sqlite);
  });
  afterAll(() => r.stop());

  /** A request whose head says 24 MB are coming, and whose body never is. */
  const held = (source: string, headers: Record<string, string>) =>
    rawConnect(r.hl.url, requestHead('POST', r.hl.config.sources[source]!.path, { ...headers, 'content-type': 'application/json', 'content-length': 24 * 1024 * 1024 }));
  const refusedBeforeTheBody = async (source: string, headers: Record<string, string>, code: string) => {
    const connection = held(source, headers);
    const answer = await within(connection.answer, 2_000, `${source}: no answer before the body`);
    expect(answer, source).toMatchObject({ status: 401, json: { ok: false, code } });
    await within(connection.closed, 2_000, `${source}: the connection was left open`);
  };
  /** Signs with the scheme itself (checked against each provider's library in test/sources). */
  const signed = (source: string, body: string, secret: string, t = nowSec(), id = freshId(source)) =>
    r.schemeOf(source).sign({ body, secret, nowSec: t, id, type: r.provider(source).type });
  const post = (source: string, body: string | Buffer, headers: Record<string, string>) => send(`${r.hl.url}${r.hl.config.sources[source]!.path}`, { body, headers });
  const without = (headers: Record<string, string>, names: readonly string[]) => Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k)));

  it.each(sources)('%s: a missing or malformed signature header is refused before the body (401), as is a stale timestamp where the provider signs one', async (source) => {
    const scheme = r.schemeOf(source);
    const good = signed(source, '{}', secrets[source]![1]);
    await refusedBeforeTheBody(source, without(good, scheme.signatureHeaders), 'HL_SIGNATURE_MISSING');
    const garbled = Object.fromEntries(Object.entries(good).map(([k, v]) => [k, scheme.signatureHeaders.includes(k) ? 'garbage' : v]));
    await refusedBeforeTheBody(source, garbled, 'HL_SIGNATURE_MALFORMED');
    const old = signed(source, '{}', 'a-forger-without-the-secret', nowSec() - 3_600);
    if (scheme.replayWindow) await refusedBeforeTheBody(source, old, 'HL_TIMESTAMP_STALE');
    else expect((await post(source, '{}', old)).json, 'no timestamp: read, then refused on its MAC').toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
  });

  it.each(sources)('%s: a wrong secret, no secret of the source, a body changed by one byte: 401 mismatch, nothing stored', async (source) => {
    const p = r.provider(source);
    const id = freshId(source);
    const body = JSON.stringify(p.event(id));
    expect((await post(source, body, signed(source, body, 'not-a-secret-of-this-source', nowSec(), id))).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
    const other = sources.find((s) => s !== source)!;
    expect((await post(source, body, signed(source, body, secrets[other]![1], nowSec(), id))).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
    const changed = body.replace(/.$/, ' }');
    expect((await post(source, changed, signed(source, body, secrets[source]![1], nowSec(), id))).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
    expect(await r.hl.store.read.receipts(id, source)).toEqual([]);
  });

  it.each(sources)('%s: signed but not JSON, or without an event id: 400 (never 5xx for its own content)', async (source) => {
    const secret = secrets[source]![1];
    expect((await post(source, 'not json', signed(source, 'not json', secret))).json).toMatchObject({ code: 'HL_BODY_NOT_JSON' });
    expect((await post(source, '[1,2]', signed(source, '[1,2]', secret))).json).toMatchObject({ code: 'HL_BODY_NOT_JSON' });
    const bytes = Buffer.from([0x7b, 0xff, 0x7d]);
    const headers = r.schemeOf(source).sign({ body: bytes, secret, nowSec: nowSec(), id: freshId(source), type: 't' });
    expect((await post(source, bytes, headers)).json).toMatchObject({ code: 'HL_BODY_NOT_UTF8' });
    // No id: the body without one, and no id header where the provider sends it in one.
    const body = '{"type":"x","data":{}}';
    const noIdHeaders = without(signed(source, body, secret), ['x-github-delivery', 'x-shopify-webhook-id', 'webhook-id']);
    const answer = await post(source, body, noIdHeaders);
    // Standard Webhooks signs its id: without one the signature header cannot be checked.
    expect(answer.json, source).toMatchObject({ code: source === 'app' ? 'HL_SIGNATURE_MALFORMED' : 'HL_EVENT_ID_MISSING' });
  });

  it.each(sources)('%s: a body over server.body_limit is 413, another method 405', async (source) => {
    const big = JSON.stringify({ id: freshId(source), event_id: 'x', pad: 'x'.repeat(70 * 1024) });
    expect((await post(source, big, signed(source, big, secrets[source]![1]))).status).toBe(413);
    const get = await send(`${r.hl.url}${r.hl.config.sources[source]!.path}`, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('hookline\'s own events cannot be posted: there is no route for them', async () => {
    expect((await send(`${r.hl.url}/hookline/webhook`, { body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
  });
});

describe('hookline send, for every configured source', () => {
  let r: Running;
  beforeAll(async () => {
    r = await startAllSeven(sqlite);
  });
  afterAll(() => r.stop());

  it('signs a sample (or a type) as each provider does, and the receiver accepts it', async () => {
    const port = new URL(r.hl.url).port;
    writeFileSync(join(r.dir, 'hookline.yaml'), configText(r.dir, r.hl.config.store.url, 'both', Number(port)));
    const samples: Record<string, string> = { muro: 'conversation.opened', meru: 'email.received', app: 'invoice.paid', gh: 'issues.opened', stripe: 'payment_intent.succeeded', shop: 'orders/create', custom: 'order.paid' };
    for (const source of sources) {
      const { stdout } = await run(process.execPath, [bin, 'send', source, samples[source]!], { cwd: r.dir, env: { ...process.env, NODE_ENV: '' } });
      const id = /^200 \{"ok":true,"id":"([^"]+)"\}/.exec(stdout)?.[1];
      expect(id, `${source}: ${stdout}`).toBeDefined();
      const [event] = await r.hl.store.read.receipts(id!, source);
      expect(event, source).toMatchObject({ source, type: r.provider(source).type });
    }
    await expect(run(process.execPath, [bin, 'send', 'gitlab', 'push'], { cwd: r.dir })).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown source "gitlab": expected one of muro, meru, app, gh, stripe, shop, custom/) });

    // `hookline sources` lists them, and `events --source` takes any of them (and hookline), nothing else.
    const listed = (await run(process.execPath, [bin, 'sources'], { cwd: r.dir })).stdout;
    for (const [source, preset, path] of [['app', 'standard-webhooks', '/app/webhook'], ['gh', 'github', '/github/webhook'], ['shop', 'shopify', '/shopify/webhook'], ['custom', 'hmac', '/custom/webhook']]) {
      expect(listed).toMatch(new RegExp(`^${source} +${preset} +${path} +2 configured`, 'm'));
    }
    expect(listed).toMatch(/^gh .* none \(no signed timestamp\)/m);
    expect((await run(process.execPath, [bin, 'events', '--source', 'shop', '--json'], { cwd: r.dir })).stdout).toContain('"source":"shop"');
    await expect(run(process.execPath, [bin, 'events', '--source', 'gitlab'], { cwd: r.dir })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/Allowed choices are muro, meru, app, gh, stripe, shop, custom, hookline/) });
  });
});
