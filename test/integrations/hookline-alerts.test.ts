import { afterEach, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';
import { describeBackends } from '../helpers/backends.ts';
import { MERU_SECRET } from '../helpers/env.ts';
import { sample, startWithShippedRecipes, type Integration } from '../helpers/integration.ts';
import { send } from '../helpers/server.ts';
import { meruHeaders } from '../helpers/sign.ts';

// The shipped recipes/hookline-alerts.yaml, end to end: hookline's own events reach the Slack
// emulator through the real receiver, store, dispatcher and worker.

let it_: Integration | undefined;
let slack: SlackEmulator | undefined;
afterEach(async () => {
  await it_?.stop();
  await slack?.close();
  it_ = undefined;
  slack = undefined;
});

const minute = 60_000;

describeBackends('integrations: hookline-alerts', (backend) => {
  it('a wrong MERU secret for longer than alert_after: one Slack message with the cause; the fixed secret: another saying so', async () => {
    slack = await startSlackEmulator();
    // rate: off: both messages go at one instant of the test's clock (Slack's default 1/s is tested in test/flow).
    it_ = await startWithShippedRecipes({ connections: { slack: { webhook_url: slack.webhookUrl, rate: 'off' } } } as never, undefined, backend);
    const { hl, clock } = it_;
    const email = (secret: string, id: string) => {
      const body = JSON.stringify(sample('meru/email.new-request', (e) => (e.event_id = id)));
      return send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, secret, { t: Math.floor(clock.now() / 1000) }) });
    };
    // MERU was rotated on its side: every email for six minutes is refused (and MERU will not retry them).
    for (let i = 0; i <= 6; i++) {
      expect((await email('whsec_rotated_on_merus_side', `evt_lost_${i}`)).status).toBe(401);
      clock.advance(minute);
    }
    await expect.poll(async () => (await hl.store.read.events({ source: 'hookline' })).length).toBe(1);
    await hl.worker.drain();
    expect(slack.messages.map((m) => m.text)).toEqual([
      expect.stringMatching(
        /^:no_entry: \*meru\* is rejecting every delivery \(6 since 2026-11-20T09:14:00\.000Z\)\. For 5m, every delivery to meru carried a well-formed, fresh signature that did not match the secret hookline has \(sources\.meru\.secrets\[0\]\).* MERU does not retry a 4xx: that mail is lost\. Copy the signing secret MERU shows into sources\.meru\.secrets/,
      ),
    ]);
    expect(slack.messages[0]!.text).not.toContain(MERU_SECRET);

    expect((await email(MERU_SECRET, 'evt_after_fix')).status).toBe(200);
    await expect.poll(async () => (await hl.store.read.events({ source: 'hookline' })).length).toBe(2);
    await hl.worker.drain();
    expect(slack.messages.at(-1)!.text).toBe(':white_check_mark: *meru* accepts deliveries again (7 were rejected since 2026-11-20T09:14:00.000Z).');
  });

  it('a dead run, as the queue appends hookline/run.dead: one Slack message naming recipe, step, error and how to retry', async () => {
    slack = await startSlackEmulator();
    // rate: off: both messages go at one instant of the test's clock (Slack's default 1/s is tested in test/flow).
    it_ = await startWithShippedRecipes({ connections: { slack: { webhook_url: slack.webhookUrl, rate: 'off' } } } as never, undefined, backend);
    const { hl, clock } = it_;
    // The body the queue writes in the transaction that finishes a dead run (the engine's side of issue 12).
    const body = {
      id: 'run.dead:run_1',
      type: 'run.dead',
      created_at: new Date(clock.now()).toISOString(),
      data: { run: 'run_1', recipe: 'slack-new-conversation', event: { source: 'muro', id: 'evt_1', type: 'conversation.opened' }, step: 'notify', error: 'slack: 403 invalid_token' },
    };
    await hl.store.inbox.receive({ source: 'hookline', eventId: body.id, type: 'run.dead', receivedAt: clock.now(), headers: {}, body: JSON.stringify(body), test: false }, 86_400_000);
    await hl.worker.drain();
    expect(slack.messages.map((m) => m.text)).toEqual([
      ':rotating_light: A run of *slack-new-conversation* went to dead letters at step notify: slack: 403 invalid_token (event muro/conversation.opened evt_1). Retry it with `hookline dead --retry run_1` once the cause is fixed.',
    ]);
  });

  it('without Slack configured the alert is recorded as skipped, with the message it would have sent', async () => {
    it_ = await startWithShippedRecipes({}, undefined, backend);
    const { hl, clock } = it_;
    for (let i = 0; i <= 6; i++) {
      const body = JSON.stringify(sample('meru/email.new-request', (e) => (e.event_id = `evt_unheard_${i}`)));
      await send(`${hl.url}/meru/webhook`, { body, headers: meruHeaders(body, 'whsec_wrong', { t: Math.floor(clock.now() / 1000) }) });
      clock.advance(minute);
    }
    await expect.poll(async () => (await hl.store.read.events({ source: 'hookline' })).length).toBe(1);
    await hl.worker.drain();
    const [run] = await hl.store.read.runs({ recipe: 'hookline-alerts', limit: 10 });
    const detail = await hl.store.read.run(run!.id);
    expect(detail).toMatchObject({ status: 'done' });
    expect(detail!.steps.find((s) => s.stepId === 'rejecting')).toMatchObject({ status: 'skipped', output: { skipped: 'slack not configured', request: { body: { text: expect.stringContaining('*meru* is rejecting') } } } });
  });
});
