import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createHookline, type Hookline } from '../../src/index.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, MURO_SECRET, tempDir } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send } from '../helpers/server.ts';
import { muroEvent, muroHeaders, nowSec } from '../helpers/sign.ts';
import { rawConnect, requestHead, within, type RawConnection } from './raw-http.ts';

// hl.express() in a real express 5 application on a real socket: the same raw-body handling, answers,
// limits and metrics as the standalone server (issue 15).

const KB = 1024;
const readTimeout = 1_000;
const prompt = 2_000;

let hl: Hookline;
let server: Server;
let url: string;
let destination: Destination;
const temp = tempDir('hookline-express-');

beforeAll(async () => {
  destination = await startDestination();
  writeRecipe(temp.dir, 'forward', `on: muro/conversation.opened\nsteps:\n  - id: forward\n    http: { url: "${destination.origin}/forwarded", body: { id: "{{ id }}" } }\n`);
  hl = await createHookline({
    config: {
      server: { host: '127.0.0.1', body_limit: '64kb', body_budget: '128kb', read_timeout: `${readTimeout}ms` },
      store: { url: `sqlite:${join(temp.dir, 'hookline.db')}` },
      sources: { muro: { secrets: [MURO_SECRET] }, meru: { secrets: [MERU_SECRET] } },
      recipes: join(temp.dir, 'recipes'),
      attachments: join(temp.dir, 'attachments'),
      data_dir: temp.dir,
      worker: { poll: '50ms' },
      log: { level: 'silent' },
    },
  });
  const app = express();
  app.get('/', (_req, res) => void res.send('the application'));
  app.use('/hooks', hl.express());
  app.use(express.json());
  app.post('/api/echo', (req, res) => void res.json({ echoed: req.body }));
  app.get('/metrics', async (_req, res) => void res.type(hl.metrics.registry.contentType).send(await hl.metrics.registry.metrics()));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await hl.start();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await hl.stop();
  await destination.close();
  temp.cleanup();
});

let n = 0;
const muro = (type = 'conversation.opened') => {
  const id = `evt_express_${++n}`;
  const body = JSON.stringify(muroEvent(id, type));
  return { id, body, headers: muroHeaders(body, MURO_SECRET) };
};
const held = (headers: Record<string, string | number>, length: number): RawConnection =>
  rawConnect(url, requestHead('POST', '/hooks/muro/webhook', { 'content-type': 'application/json', 'content-length': length, ...headers }));
const forged = () => ({ 'x-muro-signature': `t=${nowSec()},v1=${'ab'.repeat(32)}` });

describe('hl.express() mounted in an express 5 app', () => {
  it('receives a signed webhook under its prefix, stores it, and the worker started by hl.start() runs its recipe', async () => {
    const { id, body, headers } = muro();
    const answer = await send(`${url}/hooks/muro/webhook`, { body, headers });
    expect(answer).toMatchObject({ status: 200, json: { ok: true, id } });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    const [stored] = await hl.store.read.receipts(id, 'muro');
    expect(stored).toMatchObject({ source: 'muro', type: 'conversation.opened' });
    expect(stored!.headers['x-muro-signature']).toBeUndefined();
    await destination.arrived(1);
    expect(destination.requests[0]).toMatchObject({ path: '/forwarded', body: { id } });
    // A redelivery is a duplicate, as with the standalone server.
    expect((await send(`${url}/hooks/muro/webhook`, { body, headers })).json).toEqual({ ok: true, duplicate: true });
  });

  it('leaves the application\'s own routes alone, body parsers after it included', async () => {
    expect((await send(`${url}/`, { method: 'GET' })).text).toBe('the application');
    const echoed = await send(`${url}/api/echo`, { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(echoed.json).toEqual({ echoed: { a: 1 } });
    expect((await send(`${url}/hooks/nowhere`, { body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
  });

  it('refuses what the head shows before the body is read (401), and closes the connection', async () => {
    for (const [headers, code] of [
      [{}, 'HL_SIGNATURE_MISSING'],
      [{ 'x-muro-signature': 'sha256=abc' }, 'HL_SIGNATURE_MALFORMED'],
      [{ 'x-muro-signature': `t=${nowSec() - 3_600},v1=${'ab'.repeat(32)}` }, 'HL_TIMESTAMP_STALE'],
    ] as const) {
      const connection = held(headers, 24 * 1024 * KB);
      const answer = await within(connection.answer, prompt, `no 401 before the body (${code})`);
      expect(answer).toMatchObject({ status: 401, json: { ok: false, code } });
      expect(answer.headers.connection).toBe('close');
      await within(connection.closed, prompt, 'the connection was left open');
    }
    const get = await send(`${url}/hooks/muro/webhook`, { method: 'GET' });
    expect(get).toMatchObject({ status: 405, json: { code: 'HL_METHOD_NOT_ALLOWED' } });
    expect(get.headers.allow).toBe('POST');
  });

  it('answers 413 for a body over server.body_limit, declared or chunked', async () => {
    const declared = held(forged(), 100 * KB);
    expect((await within(declared.answer, prompt, 'no 413')).json).toMatchObject({ code: 'HL_BODY_TOO_LARGE' });
    declared.socket.destroy();
    const chunked = rawConnect(url, requestHead('POST', '/hooks/muro/webhook', { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...forged() }));
    const piece = 'x'.repeat(20 * KB);
    for (let i = 0; i < 4; i++) chunked.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    expect(await within(chunked.answer, prompt, 'no 413 for the chunked body')).toMatchObject({ status: 413, json: { code: 'HL_BODY_TOO_LARGE' } });
    await within(chunked.closed, prompt, 'the connection was left open');
  });

  it('answers 408 and closes when a body is held back past server.read_timeout', async () => {
    const connection = held(forged(), 500);
    connection.socket.write('{"id":');
    const answer = await within(connection.answer, readTimeout + prompt, 'no 408');
    expect(answer).toMatchObject({ status: 408, json: { code: 'HL_BODY_TIMEOUT' } });
    expect(answer.headers.connection).toBe('close');
    await within(connection.closed, prompt, 'the connection was left open');
  });

  it('keeps bodies being read within server.body_budget: past it, 503 with Retry-After at once', async () => {
    const first = held(forged(), 60 * KB);
    const second = held(forged(), 60 * KB);
    // Both are admitted and read (they wait for their bodies); a third does not fit.
    await expect.poll(() => first.isOpen() && second.isOpen()).toBe(true);
    await expect.poll(async () => Number(/^hookline_body_budget_used_bytes (\d+)/m.exec((await send(`${url}/metrics`, { method: 'GET' })).text)?.[1])).toBe(120 * KB);
    const third = held(forged(), 60 * KB);
    const answer = await within(third.answer, prompt, 'no 503');
    expect(answer).toMatchObject({ status: 503, json: { code: 'HL_BODY_BUDGET_EXHAUSTED' } });
    expect(answer.headers['retry-after']).toBe('1');
    first.socket.destroy();
    second.socket.destroy();
    await expect.poll(async () => Number(/^hookline_body_budget_used_bytes (\d+)/m.exec((await send(`${url}/metrics`, { method: 'GET' })).text)?.[1])).toBe(0);
  });

  it('counts every answer in the same metrics as the standalone server', async () => {
    const text = (await send(`${url}/metrics`, { method: 'GET' })).text;
    expect(text).toMatch(/^hookline_events_received_total\{source="muro",outcome="accepted"\} [1-9]/m);
    expect(text).toMatch(/^hookline_events_received_total\{source="muro",outcome="signature_missing"\} [1-9]/m);
    expect(text).toMatch(/^hookline_events_received_total\{source="muro",outcome="body_timeout"\} [1-9]/m);
    expect(text).toMatch(/^hookline_ack_duration_seconds_count\{source="muro"\} [1-9]/m);
  });
});

describe('a body parser mounted before hookline', () => {
  it('is a loud 500 that says to mount hl.express() first; nothing is stored (the sender retries)', async () => {
    const app = express();
    const errors: string[] = [];
    app.use(express.json());
    app.use(hl.express());
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(error.message);
      res.status(500).json({ error: error.message });
    });
    const early = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { id, body, headers } = muro();
      const answer = await send(`http://127.0.0.1:${(early.address() as AddressInfo).port}/muro/webhook`, { body, headers });
      expect(answer.status).toBe(500);
      expect(errors[0]).toMatch(/read by another middleware .*mount hl\.express\(\) before any body parser/);
      expect(await hl.store.read.receipts(id, 'muro')).toEqual([]);
    } finally {
      early.closeAllConnections();
      await new Promise((resolve) => early.close(resolve));
    }
  });
});

describe('createHookline refuses a config that cannot work', () => {
  it('throws a ConfigError naming each problem by key path', async () => {
    const error = await createHookline({ config: { sources: { github: { secrets: ['x'] } }, server: { port: 'many' } } as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/server\.port: /);
    expect((error as ConfigError).message).toMatch(/sources\.github\.preset: set preset: to one of/);
  });

  it('with NODE_ENV=production, refuses a source on a generated secret, as hookline serve does', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(createHookline({ config: { sources: { muro: { secrets: [] }, meru: { enabled: false } }, data_dir: temp.dir, log: { level: 'silent' } } })).rejects.toThrow(/refuses to start with NODE_ENV=production: muro would run on a generated development secret/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});
