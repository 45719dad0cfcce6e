import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from '../emulators/certs.ts';
import { startHubSpotEmulator, type HubSpotEmulator } from '../emulators/hubspot.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../emulators/openai.ts';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../emulators/pagerduty.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';
import { describeBackends } from '../helpers/backends.ts';
import { bin, spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { MURO_SECRET, tempDir } from '../helpers/env.ts';
import { startCollector, type CollectedSpan, type Collector } from '../helpers/otlp-collector.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';
import { outboundUrlAttributes } from '../../src/observability/outbound-url.ts';
import { tracingSettings } from '../../src/observability/tracing.ts';

// OTLP span kinds.
const SERVER = 2;
const CLIENT = 3;

// A recipe calling each SDK's transport: fetch (Slack's webhook as hookline calls it, the OpenAI and
// HubSpot SDKs) and Node's https module (pdjs, by node-fetch).
const recipe = `name: traced
on: muro/conversation.opened
steps:
  - id: notify
    slack:
      text: "New conversation {{ data.message.text }}"
  - id: page
    pagerduty.trigger:
      summary: "traced {{ id }}"
      severity: info
      source: hookline-test
      dedup_key: "traced-{{ id }}"
  - id: ask
    llm.complete:
      prompt: "Say hello to {{ id }}"
  - id: crm
    hubspot.upsert_contact:
      email: "{{ id }}@example.com"
`;

/** A preload that reports every OpenTelemetry module the process loads, on stderr. */
function moduleSpy(dir: string): string {
  const file = join(dir, 'module-spy.mjs');
  writeFileSync(
    file,
    `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) process.stderr.write('module-spy: ' + specifier + '\\n');
  return next(specifier, context);
} });
`,
  );
  return file;
}

const traceparentOf = (header: unknown) => {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(header));
  if (!m) throw new Error(`not a traceparent: ${String(header)}`);
  return { traceId: m[1]!, parentId: m[2]! };
};

let certs: TestCertificates;
let pd: PagerDutyEmulator;
let slack: SlackEmulator;
let openai: OpenAIEmulator;
let hubspot: HubSpotEmulator;
beforeAll(async () => {
  certs = await createTestCertificates();
  pd = await startPagerDutyEmulator({ tls: { key: certs.key, cert: certs.cert } });
  slack = await startSlackEmulator();
  openai = await startOpenAIEmulator();
  hubspot = await startHubSpotEmulator();
});
afterAll(async () => {
  await Promise.all([pd.close(), slack.close(), openai.close(), hubspot.close()]);
  await certs.cleanup();
});

/** Starts `hookline serve` with the recipe above, the emulators, and `env`; its config is `dir`/hookline.yaml. */
async function serve(dir: string, storeUrl: string, env: NodeJS.ProcessEnv): Promise<Child> {
  writeRecipe(dir, 'traced', recipe);
  const config = writeChildConfig(
    dir,
    `connections:
  slack: { webhook_url: "${slack.webhookUrl}" }
  pagerduty: { routing_key: "${pd.routingKey}", base_url: "https://${pd.server}" }
  openai: { api_key: "${openai.apiKey}", base_url: "${openai.baseURL}", model: gpt-4o-mini }
  hubspot: { access_token: "${hubspot.accessToken}", base_url: "${hubspot.basePath}" }
worker: { poll: 100 }
`,
    storeUrl,
  );
  return spawnHookline(['serve', '--config', config], {
    cwd: dir,
    // pdjs only speaks https: the process trusts the emulator's CA, as an operator's would.
    env: { NODE_EXTRA_CA_CERTS: certs.caCertPath, NODE_OPTIONS: `--import=${moduleSpy(dir)}`, ...env },
  });
}

/** Posts a signed conversation.opened; `traceparent` as the sender's. */
async function deliver(child: Child, id: string, text: string, traceparent?: string) {
  const body = JSON.stringify({ id, type: 'conversation.opened', created_at: new Date().toISOString(), data: { conversation: { id: `conv_${id}` }, message: { text } } });
  const headers = { ...muroHeaders(body, MURO_SECRET), ...(traceparent ? { traceparent } : {}) };
  const answer = await send(`${child.url}/muro/webhook`, { body, headers });
  expect(answer.status).toBe(200);
}

const named = (spans: CollectedSpan[], name: string, traceId: string) => spans.find((s) => s.name === name && s.traceId === traceId);

describeBackends('tracing: OTLP/HTTP export, end to end through a hookline process', (backend) => {
  let collector: Collector;
  let child: Child;
  let config: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    collector = await startCollector();
    const temp = tempDir('hookline-trace-');
    config = join(temp.dir, 'hookline.yaml');
    const db = await backend.fresh(temp.dir);
    cleanup = async () => {
      await db.drop();
      temp.cleanup();
    };
    child = await serve(temp.dir, db.url, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'hookline-under-test',
    });
  });
  afterAll(async () => {
    await child.stop();
    await collector.close();
    await cleanup();
  });

  it('a webhook carrying a traceparent: the Slack, PagerDuty, OpenAI and HubSpot requests carry its trace id, the collector gets one trace', async () => {
    for (const emulator of [slack, pd, openai, hubspot]) emulator.reset();
    const traceId = randomBytes(16).toString('hex');
    const senderSpan = randomBytes(8).toString('hex');
    const id = `evt_traced_${backend.name}`;
    const secretText = `body-text-${randomBytes(4).toString('hex')}`;
    await deliver(child, id, secretText, `00-${traceId}-${senderSpan}-01`);

    const [toSlack] = await slack.waitFor(1);
    const [toPagerDuty] = await pd.waitFor(1);
    const slackParent = traceparentOf(toSlack!.headers.traceparent);
    const pdParent = traceparentOf(toPagerDuty!.headers.traceparent);
    const [toOpenAI] = await openai.waitFor(1);
    const toHubSpot = (await hubspot.waitFor(1)).at(-1);
    expect(slackParent.traceId).toBe(traceId);
    expect(pdParent.traceId).toBe(traceId);
    expect(traceparentOf(toOpenAI!.headers.traceparent).traceId).toBe(traceId);
    expect(traceparentOf(toHubSpot!.headers.traceparent).traceId).toBe(traceId);

    const spans = await collector.waitFor((all) => all.filter((s) => s.traceId === traceId && s.kind === CLIENT).length >= 4 && !!named(all, 'run traced', traceId));
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const receive = named(inTrace, 'receive muro', traceId)!;
    const dispatch = named(inTrace, 'dispatch muro', traceId)!;
    const run = named(inTrace, 'run traced', traceId)!;
    const notify = named(inTrace, 'step traced.notify', traceId)!;
    const page = named(inTrace, 'step traced.page', traceId)!;
    // The receive span is the sender's child; dispatch and the run continue it (the context stored
    // with the event); steps are the run's children, and each call its step's.
    expect(receive).toMatchObject({ kind: SERVER, parentSpanId: senderSpan });
    expect(dispatch.parentSpanId).toBe(receive.spanId);
    expect(run.parentSpanId).toBe(receive.spanId);
    expect([notify.parentSpanId, page.parentSpanId]).toEqual([run.spanId, run.spanId]);
    const slackCall = inTrace.find((s) => s.spanId === slackParent.parentId)!;
    const pdCall = inTrace.find((s) => s.spanId === pdParent.parentId)!;
    expect(slackCall).toMatchObject({ kind: CLIENT, parentSpanId: notify.spanId });
    expect(pdCall).toMatchObject({ kind: CLIENT, parentSpanId: page.spanId });
    for (const step of ['ask', 'crm']) {
      const span = named(inTrace, `step traced.${step}`, traceId)!;
      expect(inTrace.filter((s) => s.kind === CLIENT && s.parentSpanId === span.spanId)).toHaveLength(1);
    }

    // Attributes name things and say how they ended.
    expect(receive.attributes).toMatchObject({ 'hookline.source': 'muro', 'hookline.event.id': id, 'hookline.outcome': 'accepted', 'http.response.status_code': 200 });
    expect(dispatch.attributes).toMatchObject({ 'hookline.event.id': id, 'hookline.event.type': 'conversation.opened', 'hookline.runs': 1, 'hookline.recipes': ['traced'] });
    expect(run.attributes).toMatchObject({ 'hookline.recipe': 'traced', 'hookline.event.id': id, 'hookline.outcome': 'done' });
    expect(notify.attributes).toMatchObject({ 'hookline.step': 'notify', 'hookline.action': 'slack', 'hookline.outcome': 'done', 'hookline.step.attempt': 1 });
    expect(page.attributes).toMatchObject({ 'hookline.step': 'page', 'hookline.action': 'pagerduty.trigger', 'hookline.outcome': 'done' });
    expect(slackCall.attributes).toMatchObject({ 'http.response.status_code': 200, 'server.address': '127.0.0.1', 'url.full': `${slack.origin}/REDACTED` });
    expect(receive.resource['service.name']).toBe('hookline-under-test');

    // Never a secret or a body: not the webhook's secret path, the routing key, the signing secret,
    // nor the text of the event.
    const exported = JSON.stringify(spans);
    for (const secret of [slack.webhookUrl.split('/').at(-1)!, pd.routingKey, openai.apiKey, hubspot.accessToken, MURO_SECRET, secretText]) expect(exported).not.toContain(secret);
  });

  it('a webhook without a traceparent starts a trace that its runs and calls join', async () => {
    slack.reset();
    const id = `evt_untraced_${backend.name}`;
    await deliver(child, id, 'no traceparent');
    const [toSlack] = await slack.waitFor(1);
    const { traceId } = traceparentOf(toSlack!.headers.traceparent);
    const spans = await collector.waitFor((all) => !!named(all, 'run traced', traceId));
    const receive = named(spans, 'receive muro', traceId)!;
    expect(receive.attributes['hookline.event.id']).toBe(id);
    expect(receive.parentSpanId).toBe('');
    expect(named(spans, 'run traced', traceId)!.parentSpanId).toBe(receive.spanId);
  });

  it('a replay joins the trace of the original delivery (one event, one trace)', async () => {
    slack.reset();
    const id = `evt_replayed_${backend.name}`;
    const traceId = randomBytes(16).toString('hex');
    await deliver(child, id, 'replay me', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    await slack.waitFor(1);
    const receive = (await collector.waitFor((all) => !!named(all, 'receive muro', traceId))).find((s) => s.name === 'receive muro' && s.traceId === traceId)!;

    slack.reset();
    const replay = spawnSync(process.execPath, [bin, 'replay', id, '--config', config], { encoding: 'utf8' });
    expect(replay.stdout).toMatch(/replaying/);
    const [again] = await slack.waitFor(1);
    expect(traceparentOf(again!.headers.traceparent).traceId).toBe(traceId);
    const replayed = (s: CollectedSpan) => s.traceId === traceId && s.attributes['hookline.event.generation'] === 1;
    const spans = await collector.waitFor((all) => all.filter(replayed).length >= 2);
    expect(spans.filter(replayed).map((s) => [s.name, s.parentSpanId])).toEqual(
      expect.arrayContaining([
        ['dispatch muro', receive.spanId],
        ['run traced', receive.spanId],
      ]),
    );
  });

  it('says where the traces go, and loads the SDK', () => {
    expect(child.stderr()).toContain(`traces:          OTLP http/json to ${collector.origin}/v1/traces`);
    expect(child.stderr()).toContain('module-spy: @opentelemetry/sdk-node');
  });
});

describe('tracing with OTEL_PROPAGATORS=b3multi (a sender and destinations that speak B3)', () => {
  let collector: Collector;
  let child: Child;
  let temp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    collector = await startCollector();
    temp = tempDir('hookline-b3-');
    child = await serve(temp.dir, `sqlite:${join(temp.dir, 'hookline.db')}`, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_PROPAGATORS: 'b3multi',
    });
  });
  afterAll(async () => {
    await child.stop();
    await collector.close();
    temp.cleanup();
  });

  it('continues the sender\'s B3 trace, and the runs still join it (the stored context is W3C whatever the propagators)', async () => {
    slack.reset();
    const traceId = randomBytes(16).toString('hex');
    const body = JSON.stringify({ id: 'evt_b3', type: 'conversation.opened', created_at: new Date().toISOString(), data: { message: { text: 'b3' } } });
    const b3 = { 'x-b3-traceid': traceId, 'x-b3-spanid': randomBytes(8).toString('hex'), 'x-b3-sampled': '1' };
    expect((await send(`${child.url}/muro/webhook`, { body, headers: { ...muroHeaders(body, MURO_SECRET), ...b3 } })).status).toBe(200);
    const [toSlack] = await slack.waitFor(1);
    expect(toSlack!.headers['x-b3-traceid']).toBe(traceId);
    expect(toSlack!.headers.traceparent).toBeUndefined();
    const spans = await collector.waitFor((all) => !!named(all, 'run traced', traceId));
    expect(named(spans, 'run traced', traceId)!.parentSpanId).toBe(named(spans, 'receive muro', traceId)!.spanId);
  });
});

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let child: Child;
  let temp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    temp = tempDir('hookline-untraced-');
    child = await serve(temp.dir, `sqlite:${join(temp.dir, 'hookline.db')}`, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
  });
  afterAll(async () => {
    await child.stop();
    temp.cleanup();
  });

  it('loads no OpenTelemetry SDK or instrumentation, and adds no traceparent to outbound calls', async () => {
    slack.reset();
    await deliver(child, 'evt_off', 'off', `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`);
    const [toSlack] = await slack.waitFor(1);
    expect(toSlack!.headers.traceparent).toBeUndefined();
    expect(child.stderr()).toContain('traces:          off (OTEL_EXPORTER_OTLP_ENDPOINT is not set)');
    // prom-client loads @opentelemetry/api for its exemplars, and that is all.
    const loaded = [...child.stderr().matchAll(/module-spy: (\S+)/g)].map((m) => m[1]);
    expect(loaded.filter((m) => m !== '@opentelemetry/api')).toEqual([]);
  });
});

describe('tracing settings: the standard variables', () => {
  it('is on with an endpoint for all signals or for traces only', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ on: true, endpoint: 'http://collector:4318' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toMatchObject({ on: true });
  });

  it('is off without an endpoint, with OTEL_SDK_DISABLED=true, or with OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingSettings({})).toEqual({ on: false, reason: 'OTEL_EXPORTER_OTLP_ENDPOINT is not set' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' })).toEqual({ on: false, reason: 'OTEL_SDK_DISABLED=true' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'false' })).toMatchObject({ on: true });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toEqual({ on: false, reason: 'OTEL_TRACES_EXPORTER=none' });
  });
});

describe('outbound call spans: the destination, never the path or the query', () => {
  it('keeps scheme, host and port only', () => {
    expect(outboundUrlAttributes('https://hooks.slack.com/services/T0/B0/s3cr3t')).toEqual({ 'url.full': 'https://hooks.slack.com/REDACTED', 'url.path': '/REDACTED', 'url.query': '' });
    expect(outboundUrlAttributes('https://user:pw@api.example.com:8443/v1/x?token=abc')).toEqual({ 'url.full': 'https://api.example.com:8443/REDACTED?REDACTED', 'url.path': '/REDACTED', 'url.query': 'REDACTED' });
  });
});
