// @pagerduty/pdjs 2 against the PagerDuty Events API v2 emulator (HTTPS).
//
// Construction: pdjs has no client object. event({ server, data }) / trigger / acknowledge /
// resolve POST to `https://${server}/v2/enqueue`; `server` is host[:port] (no scheme, no path),
// so the emulator must be HTTPS and the process must trust its CA. Two ways, both used here:
//   1. In-process: pdjs spreads unknown options into its fetch (cross-fetch -> node-fetch 2),
//      so `agent: new https.Agent({ ca })` works per call. Not in pdjs's types: pass it through
//      a variable (no excess-property check), as `paramsWithAgent` below does.
//   2. A child process started with NODE_EXTRA_CA_CERTS=<ca.pem> (Node reads it only at start;
//      setting process.env later has no effect): see pagerduty-child.ts. This is how the
//      hookline process itself would be set up in an end-to-end test.
//   (3. Also verified by hand on Node 24: in-process, for the whole process,
//      tls.setDefaultCACertificates([...tls.getCACertificates('default'), certs.ca]) makes
//      https.globalAgent, hence pdjs, trust the CA. Not used here: it is process-wide.)
// pdjs's types require `payload` even for acknowledge/resolve (the API does not): cast there.
//
// How pdjs surfaces failures: it does NOT reject on HTTP errors. The promise resolves with the
// fetch Response (node-fetch 2) augmented with the parsed body:
//   response.status / response.ok             the HTTP status
//   response.data                             the parsed JSON body ({status, message, errors})
//   response.headers.get('retry-after')       response headers
// It rejects only when there is no response (FetchError, error.code e.g. 'ECONNRESET',
// 'UNABLE_TO_VERIFY_LEAF_SIGNATURE') or when the body is not JSON (FetchError type
// 'invalid-json': the status is lost then).
// Retries: on 429 only, up to 3 more times, waiting `retryTimeout` ms (default 20 000) and
// ignoring Retry-After; after the last 429 it resolves with that 429 response. Its
// `requestTimeout` (default 30 s) is not a timeout: it only arms a no-op timer (left pending
// after a final 429); node-fetch's own `timeout` option is the real one.
import { execFile } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { event } from '@pagerduty/pdjs';
// The package root exports only the functions; the types live in the build's events module.
import type { EventParameters, EventPayloadV2, EventPromise } from '@pagerduty/pdjs/build/src/events.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from './certs.ts';
import type { ChildInput, ChildOutput } from './pagerduty-child.ts';
import { startPagerDutyEmulator, type PagerDutyEmulator } from './pagerduty.ts';

const runFile = promisify(execFile);
const CHILD = path.join(import.meta.dirname, 'pagerduty-child.ts');

let certs: TestCertificates;
let pagerduty: PagerDutyEmulator;
let agent: https.Agent;

beforeAll(async () => {
  certs = await createTestCertificates();
  pagerduty = await startPagerDutyEmulator({ tls: { key: certs.key, cert: certs.cert } });
  agent = new https.Agent({ ca: certs.ca });
});
afterAll(async () => {
  agent.destroy();
  await pagerduty.close();
  await certs.cleanup();
});
beforeEach(() => {
  pagerduty.reset();
});

function trigger(dedupKey?: string): EventPayloadV2 {
  return {
    routing_key: pagerduty.routingKey,
    event_action: 'trigger',
    ...(dedupKey ? { dedup_key: dedupKey } : {}),
    payload: { summary: 'Disk full on db-1', source: 'db-1', severity: 'critical' },
  };
}

/** pdjs's `event` with the emulator's server and an agent that trusts the test CA. */
function send(data: EventPayloadV2, extra: Partial<EventParameters> = {}): EventPromise {
  const paramsWithAgent = { server: pagerduty.server, data, agent, ...extra };
  return event(paramsWithAgent);
}

async function runChild(input: ChildInput, env: NodeJS.ProcessEnv): Promise<ChildOutput> {
  const { stdout } = await runFile(process.execPath, [CHILD, JSON.stringify(input)], {
    env,
    cwd: path.join(import.meta.dirname, '..', '..'),
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildOutput;
}

describe('PagerDuty Events v2 emulator with @pagerduty/pdjs', () => {
  it('trigger, acknowledge, resolve: one incident, triggered once, then resolved', async () => {
    const triggered = await send(trigger('disk-db-1'));
    expect(triggered.status).toBe(202);
    expect(triggered.data).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'disk-db-1' });

    await send({ ...trigger('disk-db-1'), event_action: 'acknowledge' });
    const resolved = await send({ routing_key: pagerduty.routingKey, event_action: 'resolve', dedup_key: 'disk-db-1' } as EventPayloadV2);
    expect(resolved.status).toBe(202);

    expect(pagerduty.incidents).toHaveLength(1);
    expect(pagerduty.incident('disk-db-1')).toMatchObject({
      status: 'resolved',
      triggerCount: 1,
      acknowledgeCount: 1,
      resolveCount: 1,
      severity: 'critical',
      summary: 'Disk full on db-1',
    });
    const [first] = await pagerduty.waitFor(3);
    expect(first?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first?.headers['user-agent']).toMatch(/^pdjs\//);
  });

  it('generates a dedup_key, deduplicates re-triggers, and opens a new incident after resolve', async () => {
    const first = await send(trigger());
    const key = (first.data as { dedup_key: string }).dedup_key;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    await send(trigger(key));
    expect(pagerduty.incidents).toHaveLength(1);
    expect(pagerduty.incident(key)?.triggerCount).toBe(2);

    await send({ routing_key: pagerduty.routingKey, event_action: 'resolve', dedup_key: key } as EventPayloadV2);
    await send(trigger(key));
    expect(pagerduty.incidents.map((i) => i.status)).toEqual(['resolved', 'triggered']);
  });

  it('400 invalid event lists every error', async () => {
    const response = await send({
      routing_key: 'too-short',
      event_action: 'trigger',
      payload: { summary: '', source: 'db-1', severity: 'fatal' as 'critical' },
    });
    expect(response.status).toBe(400);
    expect(response.data).toEqual({
      status: 'invalid event',
      message: 'Event object is invalid',
      errors: [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'payload.summary' is missing or blank",
        "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
      ],
    });
    const noDedup = await send({ routing_key: pagerduty.routingKey, event_action: 'resolve' } as EventPayloadV2);
    expect((noDedup.data as { errors: string[] }).errors).toEqual(["'dedup_key' is missing or blank"]);
    expect(pagerduty.delivered).toHaveLength(0);
    expect(pagerduty.incidents).toHaveLength(0);
  });

  it('403 (scripted: the Events API has no auth header) resolves with the status, no throw', async () => {
    pagerduty.failNext(403);
    const response = await send(trigger('k'));
    expect(response.status).toBe(403);
    expect(response.ok).toBe(false);
    expect(response.data).toMatchObject({ status: 'error' });
  });

  it('429: pdjs retries 3 times after retryTimeout, then resolves with the 429 and its Retry-After', async () => {
    pagerduty.failNext(...Array.from({ length: 4 }, () => ({ status: 429, retryAfter: 30 })));
    const response = await send(trigger('k'), { retryTimeout: 5 });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.data).toMatchObject({ status: 'throttle event' });
    expect(pagerduty.requests.map((r) => r.status)).toEqual([429, 429, 429, 429]);

    pagerduty.reset();
    pagerduty.failNext({ status: 429, retryAfter: 30 });
    const recovered = await send(trigger('k'), { retryTimeout: 5 });
    expect(recovered.status).toBe(202);
    expect(pagerduty.requests.map((r) => r.status)).toEqual([429, 202]);
  });

  it('rateLimit option throttles by itself', async () => {
    const limited = await startPagerDutyEmulator({ tls: { key: certs.key, cert: certs.cert }, rateLimit: { max: 1 } });
    try {
      const paramsWithAgent = { server: limited.server, data: trigger('a'), agent, retryTimeout: 1 };
      expect((await event(paramsWithAgent)).status).toBe(202);
      expect((await event({ ...paramsWithAgent, data: trigger('b') })).status).toBe(429);
      expect(limited.incidents.map((i) => i.dedupKey)).toEqual(['a']);
    } finally {
      await limited.close();
    }
  });

  it('500 resolves with the status; a non-JSON body makes pdjs reject and lose the status', async () => {
    pagerduty.failNext(500);
    const response = await send(trigger('k'));
    expect(response.status).toBe(500);

    pagerduty.failNext({ status: 502, body: '<html>Bad Gateway</html>', headers: { 'Content-Type': 'text/html' } });
    await expect(send(trigger('k'))).rejects.toMatchObject({ name: 'FetchError', type: 'invalid-json' });
  });

  it('without the CA the TLS handshake fails; a destroyed socket rejects with ECONNRESET', async () => {
    const untrusted = { server: pagerduty.server, data: trigger('k') };
    await expect(event(untrusted)).rejects.toMatchObject({ name: 'FetchError', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });

    pagerduty.setDown(true, 'destroy');
    await expect(send(trigger('k'))).rejects.toMatchObject({ name: 'FetchError', code: 'ECONNRESET' });
    pagerduty.setDown(false);
  });

  it('a child process trusts the emulator through NODE_EXTRA_CA_CERTS', async () => {
    const input: ChildInput = { server: pagerduty.server, data: trigger('from-child'), retryTimeout: 5 };
    const { NODE_EXTRA_CA_CERTS: _ignored, ...baseEnv } = process.env;

    const trusted = await runChild(input, { ...baseEnv, NODE_EXTRA_CA_CERTS: certs.caCertPath });
    expect(trusted).toEqual({
      ok: true,
      status: 202,
      data: { status: 'success', message: 'Event processed', dedup_key: 'from-child' },
      retryAfter: null,
    });
    expect(pagerduty.incident('from-child')?.triggerCount).toBe(1);

    const untrusted = await runChild(input, baseEnv);
    expect(untrusted).toMatchObject({ ok: false, name: 'FetchError', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(pagerduty.incident('from-child')?.triggerCount).toBe(1);
  });
});
