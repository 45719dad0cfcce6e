import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planReload } from '../../src/config/reload.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MERU_SECRET, MURO_SECRET, tempDir, testConfig } from '../helpers/env.ts';
import { writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { muroEvent, muroHeaders } from '../helpers/sign.ts';

describe('planReload: what a running hookline takes from a new config', () => {
  const dir = '/srv/hookline';
  const running = testConfig(dir, { admin: { token: 'old-token' }, vars: {} });

  it('applies secrets, tolerance, dedup, connections, retry, vars, env, the admin token and the log level', () => {
    const next = testConfig(dir, {
      sources: { muro: { secrets: ['new', MURO_SECRET], tolerance: '1m', dedup_ttl: '1h' }, meru: { secrets: [MERU_SECRET], attachment_limit: '1mb' } },
      connections: { slack: { webhook_url: 'https://hooks.slack.test/x' } },
      retry: { schedule: ['1s'] },
      vars: { team: 'support' },
      env: ['TEAM'],
      admin: { token: 'new-token' },
      log: { level: 'debug' },
    });
    const plan = planReload(running, next);
    expect(plan.restart).toEqual([]);
    expect(plan.applied.sort()).toEqual(
      [
        'admin.token',
        'connections.slack.webhook_url',
        'env',
        'log.level',
        'retry.schedule',
        'sources.meru.attachment_limit',
        'sources.muro.dedup_ttl',
        'sources.muro.secrets',
        'sources.muro.tolerance',
        'vars.team',
      ].sort(),
    );
    expect(plan.config).toEqual(next);
  });

  it('keeps the running value of keys that need a restart, and names them', () => {
    const next = testConfig(dir, {
      admin: { token: 'old-token' },
      vars: {},
      server: { host: '127.0.0.1', port: 4000 },
      store: { url: 'sqlite:/elsewhere.db' },
      worker: { concurrency: 4 },
      recipes: '/srv/other-recipes',
      sources: { muro: { secrets: ['rotated'], path: '/chat/webhook' }, meru: { secrets: [MERU_SECRET] } },
    });
    const plan = planReload(running, next);
    expect(plan.restart.sort()).toEqual(['recipes', 'server.port', 'sources.muro.path', 'store.url', 'worker.concurrency']);
    expect(plan.applied).toEqual(['sources.muro.secrets']);
    expect(plan.config.server.port).toBe(running.server.port);
    expect(plan.config.store.url).toBe(running.store.url);
    expect(plan.config.worker.concurrency).toBe(32);
    expect(plan.config.recipes).toBe(running.recipes);
    expect(plan.config.sources.muro).toMatchObject({ path: '/muro/webhook', secrets: ['rotated'] });
  });

  it('turning the admin API and console on or off needs a restart; changing the token does not', () => {
    const withToken = (token: string | undefined) => ({ ...running, admin: { token } });
    expect(planReload(running, withToken(undefined))).toEqual({ restart: ['admin.token'], applied: [], config: running });
    expect(planReload(withToken(undefined), running)).toEqual({ restart: ['admin.token'], applied: [], config: withToken(undefined) });
    expect(planReload(running, withToken('another'))).toMatchObject({ restart: [], applied: ['admin.token'] });
  });
});

describe('a running hookline after reloadConfig', () => {
  let hl: TestHookline;
  let before: Destination;
  let after: Destination;
  const logs: Array<Record<string, unknown>> = [];
  const temp = tempDir();
  const post = (id: string, secret: string) => {
    const body = JSON.stringify(muroEvent(id, 'conversation.opened'));
    return send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, secret) });
  };
  beforeAll(async () => {
    before = await startDestination();
    after = await startDestination();
    writeRecipe(temp.dir, 'greet', 'on: muro/conversation.opened\nsteps: [ { id: post, slack: { text: "{{ $vars.greeting }} {{ id }}" } } ]\n');
    const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
    hl = await startTestHookline({
      dir: temp.dir,
      logger,
      overrides: { admin: { token: 'old-token' }, vars: { greeting: 'hi' }, connections: { slack: { webhook_url: `${before.origin}/old` } } },
    });
  });
  afterAll(async () => {
    await hl.stop();
    await before.close();
    await after.close();
  });

  const signIn = (token: string) => send(`${hl.url}/console/login`, { body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const consolePage = (cookie: string) => send(`${hl.url}/console/events`, { method: 'GET', headers: { cookie } });

  it('verifies with the new secret, runs with the new vars and connections, and answers the new admin token', async () => {
    expect((await post('evt_reload_1', MURO_SECRET)).status).toBe(200);
    await before.arrived(1);
    const oldSession = String((await signIn('old-token')).headers['set-cookie']).split(';')[0]!;
    expect((await consolePage(oldSession)).status).toBe(200);

    const next = testConfig(temp.dir, {
      store: { url: hl.config.store.url },
      server: { host: '127.0.0.1', port: 1 },
      sources: { muro: { secrets: ['rotated-secret'] } },
      admin: { token: 'new-token' },
      vars: { greeting: 'hello' },
      connections: { slack: { webhook_url: `${after.origin}/new` } },
      log: { level: 'info' },
    });
    const outcome = hl.reloadConfig(next, 'test');
    expect(outcome.restart).toEqual(['server.port']);

    expect((await post('evt_reload_2', MURO_SECRET)).status).toBe(401);
    expect((await post('evt_reload_3', 'rotated-secret')).status).toBe(200);
    await after.arrived(1);
    expect(after.requests[0]).toMatchObject({ path: '/new', body: { text: 'hello evt_reload_3' } });
    expect(before.requests).toHaveLength(1);

    const admin = (token: string) => send(`${hl.url}/admin/events`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect((await admin('old-token')).status).toBe(401);
    expect((await admin('new-token')).status).toBe(200);
    // The console too: the new token signs in, the old one does not, and its sessions have ended.
    expect((await signIn('old-token')).status).toBe(401);
    const newSession = await signIn('new-token');
    expect(newSession.status).toBe(303);
    expect((await consolePage(String(newSession.headers['set-cookie']).split(';')[0]!)).status).toBe(200);
    expect((await consolePage(oldSession)).status).toBe(303);

    expect(logs).toContainEqual(expect.objectContaining({ msg: 'config reloaded', trigger: 'test', changed: expect.arrayContaining(['sources.muro.secrets', 'vars.greeting', 'admin.token']) }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 40, trigger: 'test', keys: ['server.port'], msg: expect.stringMatching(/need a restart.*server\.port/) }));
    expect(JSON.stringify(logs)).not.toContain('rotated-secret');
    expect(JSON.stringify(logs)).not.toContain('new-token');
  });
});


describe('secrets added by a reload are redacted from then on', () => {
  let hl: TestHookline;
  let api: Destination;
  const temp = tempDir();
  const post = (id: string) => {
    const body = JSON.stringify(muroEvent(id, 'conversation.opened'));
    return send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) });
  };
  /** The event's dead run, once the worker has recorded it, as stored (error and attempts). */
  const deadRun = async (id: string) => {
    for (const started = Date.now(); Date.now() - started < 10_000; await new Promise((r) => setTimeout(r, 20))) {
      const [event] = await hl.store.read.receipts(id);
      const runs = event ? await hl.store.read.runsOfEvent(event.seq) : [];
      if (runs[0]?.status === 'dead') return JSON.stringify({ error: runs[0].error, attempts: runs[0].attempts });
    }
    throw new Error(`no dead run for ${id} within 10 s`);
  };
  beforeAll(async () => {
    api = await startDestination();
    process.env.HOOKLINE_RELOAD_API_KEY = 'first-api-key-0123456789';
    writeRecipe(temp.dir, 'call', `on: muro/conversation.opened\nsteps: [ { id: call, http: { url: "${api.origin}/v1", query: { api_key: "{{ $env.HOOKLINE_RELOAD_API_KEY }}" } } } ]\n`);
    hl = await startTestHookline({ dir: temp.dir, overrides: { env: ['HOOKLINE_RELOAD_API_KEY'], vars: { round: 1 } } });
  });
  afterAll(async () => {
    delete process.env.HOOKLINE_RELOAD_API_KEY;
    await hl.stop();
    await api.close();
  });

  it('a credential that only the new config carries never reaches a stored attempt', async () => {
    api.failNext(400);
    expect((await post('evt_redact_1')).status).toBe(200);
    const first = await deadRun('evt_redact_1');
    expect(api.requests[0]!.query.api_key).toBe('first-api-key-0123456789');
    expect(first).toContain('[redacted]');
    expect(first).not.toContain('first-api-key-0123456789');

    process.env.HOOKLINE_RELOAD_API_KEY = 'second-api-key-9876543210';
    hl.reloadConfig(testConfig(temp.dir, { store: { url: hl.config.store.url }, env: ['HOOKLINE_RELOAD_API_KEY'], vars: { round: 2 } }), 'test');
    api.failNext(400);
    expect((await post('evt_redact_2')).status).toBe(200);
    const second = await deadRun('evt_redact_2');
    expect(api.requests[1]!.query.api_key).toBe('second-api-key-9876543210');
    expect(second).toContain('[redacted]');
    expect(second).not.toContain('second-api-key-9876543210');
  });
});
