import { afterEach, expect, it } from 'vitest';
import { manualClock } from '../../src/util/clock.ts';
import { describeBackends } from '../helpers/backends.ts';
import { MERU_SECRET, MURO_SECRET, tempDir } from '../helpers/env.ts';
import { startHookline } from '../../src/hookline.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { meruHeaders, muroEvent, muroHeaders } from '../helpers/sign.ts';

// hookline/source.rejecting (PRODUCT §9): deliveries that keep failing on their signature alone, none
// accepted, for alert_after (a wrong secret) raise one event per episode; stray 401s raise none. The
// clock is injected: the server, the signatures' timestamps and the watch all read it.

const minute = 60_000;
const start = Date.parse('2026-11-20T09:00:00Z');
const TOKEN = 'admin-token-for-rejecting-tests';

describeBackends('a source that keeps rejecting deliveries', (backend) => {
  let hl: TestHookline | undefined;
  let temp = tempDir();
  let n = 0;
  const clock = manualClock(start);
  afterEach(async () => {
    await hl?.stop();
    hl = undefined;
    temp.cleanup();
    temp = tempDir();
    clock.set(start);
  });
  const startIt = async (dir = temp.dir) => {
    hl = await startTestHookline({ dir, backend, clock, worker: false, overrides: { admin: { token: TOKEN } } });
    return hl;
  };

  const postMuro = (secret: string, headers: Record<string, string> = {}) => {
    const body = JSON.stringify(muroEvent(`evt_rej_${++n}`, 'message.created'));
    return send(`${hl!.url}/muro/webhook`, { body, headers: { ...muroHeaders(body, secret, { t: Math.floor(clock.now() / 1000) }), ...headers } });
  };
  const own = async () => (await hl!.store.read.events({ source: 'hookline', limit: 50 })).map((e) => e.type).reverse();
  const gauge = async (source: string) => {
    const text = (await send(`${hl!.url}/metrics`, { method: 'GET' })).text;
    return Number(new RegExp(`^hookline_source_rejecting\\{source="${source}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };

  it('a burst of wrong-secret deliveries for longer than alert_after raises one alert, with the cause in words; a verified delivery clears it', async () => {
    await startIt();
    // Every minute for 9 minutes, muro signs with a secret hookline does not have.
    for (let i = 0; i <= 8; i++) {
      expect((await postMuro('a-wrong-secret')).json).toMatchObject({ code: 'HL_SIGNATURE_MISMATCH' });
      if (i === 4) expect(await own()).toEqual([]); // 4 minutes: not yet
      clock.advance(minute);
    }
    await expect.poll(own).toEqual(['source.rejecting']);
    const [alert] = await hl!.store.read.receipts('source.rejecting:muro:0', 'hookline');
    const body = JSON.parse(alert!.body);
    expect(body).toMatchObject({ id: 'source.rejecting:muro:0', type: 'source.rejecting', data: { source: 'muro', preset: 'muro', path: '/muro/webhook', secrets: ['sources.muro.secrets[0]'] } });
    expect(body.data.rejections).toBeGreaterThanOrEqual(6);
    expect(body.data.cause).toMatch(/did not match the secret hookline has \(sources\.muro\.secrets\[0\]\).*the secret is wrong, or was rotated on muro's side/);
    expect(body.data.fix).toMatch(/into sources\.muro\.secrets/);
    expect(alert!.body).not.toContain(MURO_SECRET);
    expect(alert!.body).not.toContain('a-wrong-secret');

    // While it rejects: /metrics, the admin API and a banner on every console page say so; more
    // mismatches raise nothing more.
    expect(await gauge('muro')).toBe(1);
    expect(await gauge('meru')).toBe(0);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const sources = (await send(`${hl!.url}/admin/sources`, { method: 'GET', headers: auth })).json.sources as Array<Record<string, any>>;
    expect(sources.find((s) => s.name === 'muro')!.rejecting).toMatchObject({ rejections: expect.any(Number), cause: expect.stringMatching(/rotated on muro's side/) });
    expect(sources.find((s) => s.name === 'meru')!.rejecting).toBeNull();
    const signIn = await send(`${hl!.url}/console/login`, { body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const page = await send(`${hl!.url}/console/events`, { method: 'GET', headers: { cookie } });
    expect(page.text).toMatch(/data-banner="rejecting"[\s\S]*muro is rejecting deliveries/);
    for (let i = 0; i < 3; i++) {
      await postMuro('a-wrong-secret');
      clock.advance(minute);
    }
    expect(await own()).toEqual(['source.rejecting']);

    // The operator fixes the secret: the next delivery verifies, the episode ends.
    expect((await postMuro(MURO_SECRET)).status).toBe(200);
    await expect.poll(own).toEqual(['source.rejecting', 'source.recovered']);
    expect(await gauge('muro')).toBe(0);
    expect((await send(`${hl!.url}/console/events`, { method: 'GET', headers: { cookie } })).text).not.toContain('data-banner');
  });

  it('a few stray 401s raise nothing: missing or malformed headers, stale timestamps, and mismatches too few or too close together', async () => {
    await startIt();
    for (let i = 0; i < 20; i++) {
      // Scanners: no signature, a malformed one, a replay far outside the tolerance.
      expect((await send(`${hl!.url}/muro/webhook`, { body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
      expect((await postMuro(MURO_SECRET, { 'x-muro-signature': 'sha256=abc' })).status).toBe(401);
      const body = '{"id":"x"}';
      expect((await send(`${hl!.url}/muro/webhook`, { body, headers: muroHeaders(body, 'wrong', { t: Math.floor(clock.now() / 1000) - 3600 }) })).json.code).toBe('HL_TIMESTAMP_STALE');
      clock.advance(minute);
    }
    // Two forged signatures, an hour apart: strays. A third a day later starts over.
    await postMuro('forged');
    clock.advance(60 * minute);
    await postMuro('forged');
    clock.advance(25 * 60 * minute);
    await postMuro('forged');
    // Fifty within a minute, a day later: a burst, but not for alert_after.
    clock.advance(25 * 60 * minute);
    for (let i = 0; i < 50; i++) {
      await postMuro('forged');
      clock.advance(1_000);
    }
    // Accepted deliveries between mismatches reset the count: the secret works.
    for (let i = 0; i < 10; i++) {
      await postMuro('forged');
      await postMuro('forged');
      expect((await postMuro(MURO_SECRET)).status).toBe(200);
      clock.advance(minute);
    }
    expect(await own()).toEqual([]);
    expect(await gauge('muro')).toBe(0);
  });

  it('is raised once per episode across a restart (the same id: the store keeps one), and names a generated secret and what MERU loses', async () => {
    await startIt();
    const postMeru = (secret: string) => {
      const body = JSON.stringify({ event_id: `evt_meru_${++n}`, attachments: [] });
      return send(`${hl!.url}/meru/webhook`, { body, headers: meruHeaders(body, secret, { t: Math.floor(clock.now() / 1000) }) });
    };
    expect((await postMeru(MERU_SECRET)).status).toBe(200);
    const burst = async () => {
      for (let i = 0; i <= 6; i++) {
        expect((await postMeru('whsec_rotated_on_merus_side')).status).toBe(401);
        clock.advance(minute);
      }
    };
    await burst();
    await expect.poll(own).toEqual(['source.rejecting']);
    const [first] = await hl!.store.read.events({ source: 'hookline', limit: 1 });
    expect(first!.eventId).toMatch(/^source\.rejecting:meru:\d+$/);
    expect(JSON.parse((await hl!.store.read.receipts(first!.eventId))[0]!.body).data.cause).toMatch(/MERU does not retry a 4xx: that mail is lost/);

    // A restart forgets the episode, sees it again, and raises it again: under the same id.
    const first_ = hl!;
    await first_.close();
    const restarted = await startHookline({ config: first_.config, clock, worker: false });
    hl = { ...restarted, dir: first_.dir, db: first_.db, stop: async () => {
      await restarted.close();
      await first_.db.drop();
    } };
    await burst();
    await expect.poll(() => hl!.rejecting()).toEqual([expect.objectContaining({ source: 'meru' })]);
    expect(await own()).toEqual(['source.rejecting']);
  });
});

it('a source on a generated development secret: the alert says so, and where the secret is', async () => {
  const temp = tempDir();
  const clock = manualClock(start);
  const hl = await startTestHookline({ dir: temp.dir, clock, worker: false, overrides: { sources: { muro: { secrets: [] } } } });
  try {
    for (let i = 0; i <= 6; i++) {
      const body = JSON.stringify(muroEvent(`evt_dev_${i}`));
      await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET, { t: Math.floor(clock.now() / 1000) }) });
      clock.advance(minute);
    }
    await expect.poll(async () => (await hl.store.read.events({ source: 'hookline' })).length).toBe(1);
    const [alert] = await hl.store.read.events({ source: 'hookline' });
    const data = JSON.parse((await hl.store.read.receipts(alert!.eventId))[0]!.body).data;
    expect(data.secrets).toEqual([`generated development secret (${hl.secrets.file})`]);
    expect(data.cause).toMatch(/did not match the development secret hookline generated/);
    expect(data.fix).toMatch(/Set sources\.muro\.secrets to the signing secret muro shows/);
  } finally {
    await hl.stop();
  }
});
