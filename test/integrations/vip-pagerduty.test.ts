import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setDefaultCACertificates, getCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from '../emulators/certs.ts';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../emulators/pagerduty.ts';
import { spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { describeBackends } from '../helpers/backends.ts';
import { tempDir } from '../helpers/env.ts';
import { sample, shippedRecipes, startWithShippedRecipes } from '../helpers/integration.ts';
import { message, postMuro } from '../helpers/recipes.ts';
import type { Hookline } from '../../src/hookline.ts';

let certs: TestCertificates;
let pd: PagerDutyEmulator;
beforeAll(async () => {
  certs = await createTestCertificates();
  pd = await startPagerDutyEmulator({ tls: { key: certs.key, cert: certs.cert } });
});
afterAll(async () => {
  await pd.close();
  await certs.cleanup();
});

/**
 * Drains the worker until the event has been dispatched, then once more. On PostgreSQL an event is
 * dispatched only once no older transaction of the server is open (other test files share it), so a
 * drain may find nothing yet: a test must not move its clock before the run exists.
 */
async function dispatched(hl: Hookline, eventId: string): Promise<void> {
  for (;;) {
    await hl.worker.drain();
    const [stored] = await hl.store.read.receipts(eventId);
    if (stored?.status === 'dispatched') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await hl.worker.drain();
}

const vip = (conversation: string, text: string, author: 'visitor' | 'agent' = 'visitor') =>
  message(conversation, author, text, { visitor: { id: 'vis_1', name: 'Dana', email: 'Dana@BigCustomer.example' } });

describeBackends('integrations: VIP paging', (backend) => {
  // One emulator serves every backend's suite: each starts from an empty incident list.
  beforeAll(() => pd.reset());

  describe('VIP paging, end to end through a hookline process that trusts the test CA', () => {
    let child: Child;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const temp = tempDir('hookline-vip-');
      const db = await backend.fresh(temp.dir);
      cleanup = async () => {
        await db.drop();
        temp.cleanup();
      };
      cpSync(shippedRecipes, join(temp.dir, 'recipes'), { recursive: true });
      const config = writeChildConfig(
        temp.dir,
        `connections:\n  pagerduty: { routing_key: "${pd.routingKey}", base_url: "https://${pd.server}" }\n` +
          `vars: { vip_emails: [ dana@bigcustomer.example ], vip_first_response_timeout: 1500ms, muro_inbox_url: https://app.muro.example/inbox }\n` +
          `worker: { poll: 100 }\n`,
        db.url,
      );
      writeFileSync(config, readFileSync(config, 'utf8').replace('log: { level: warn }', 'log: { level: debug }'));
      // pdjs only speaks https: the hookline process trusts the emulator's CA the way an operator's would.
      child = await spawnHookline(['serve', '--config', config], { cwd: temp.dir, env: { NODE_EXTRA_CA_CERTS: certs.caCertPath } });
    });
    afterAll(async () => {
      await child.stop();
      await cleanup();
    });

    it('a reply before the timeout pages nobody', async () => {
      const waiting = child.waitForLog(/"msg":"run waiting"/);
      await postMuro(child, vip('conv_fast', 'help please'));
      await waiting;
      const done = child.waitForLog(/"msg":"run done"/);
      await postMuro(child, vip('conv_fast', 'on it', 'agent'));
      await done;
      expect(pd.events.filter((e) => e.dedupKey === 'muro-frt-conv_fast')).toEqual([]);
    });

    it('no reply: one trigger however many times the visitor writes; the late reply resolves it', async () => {
      await postMuro(child, vip('conv_slow', 'help please'));
      for (let i = 0; i < 5; i++) await postMuro(child, vip('conv_slow', `still waiting ${i}`));
      await pd.waitFor(1, 10_000);
      const incident = pd.incident('muro-frt-conv_slow');
      expect(incident).toMatchObject({ status: 'triggered', triggerCount: 1, severity: 'critical', source: 'muro' });
      expect(incident!.summary).toBe('VIP Dana@BigCustomer.example has waited over 1500ms for a first reply in muro');

      const done = child.waitForLog(/"msg":"run done"/);
      await postMuro(child, vip('conv_slow', 'sorry for the wait', 'agent'));
      await done;
      expect(pd.incident('muro-frt-conv_slow')).toMatchObject({ status: 'resolved', triggerCount: 1, resolveCount: 1 });
      expect(pd.events.filter((e) => e.dedupKey === 'muro-frt-conv_slow').map((e) => e.action)).toEqual(['trigger', 'resolve']);
    });

    it('muro test events never page', async () => {
      const done = child.waitForLog(/"msg":"recipes|run done|run waiting/, 3_000).catch(() => 'nothing ran');
      await postMuro(child, sample('muro/message.created.test', (e) => (e.data.visitor.email = 'dana@bigcustomer.example')));
      await done;
      expect(pd.events.filter((e) => e.dedupKey.includes('conv_test'))).toEqual([]);
    });
  });

  describe('the first-response clock (in process, an injected clock, the test CA added to the default store)', () => {
    beforeAll(() => setDefaultCACertificates([...getCACertificates('default'), certs.ca]));
    const timeout = 120_000;
    let it_: Awaited<ReturnType<typeof startWithShippedRecipes>>;
    beforeAll(async () => {
      it_ = await startWithShippedRecipes(
        {
          connections: { pagerduty: { routing_key: pd.routingKey, base_url: `https://${pd.server}` } },
          vars: { vip_emails: ['dana@bigcustomer.example'], vip_first_response_timeout: '2m', muro_inbox_url: 'https://app.muro.example/inbox' },
        } as never,
        undefined,
        backend,
      );
    });
    afterAll(() => it_?.stop());

    /** Posts at the injected clock's time, then lets the worker do everything that is due. */
    const post = async (event: Record<string, unknown>) => {
      await postMuro(it_.hl, event, it_.clock.now());
      await dispatched(it_.hl, String(event.id));
    };
    const advance = async (ms: number) => {
      it_.clock.advance(ms);
      await it_.hl.worker.drain();
    };
    const key = (conversation: string) => `muro-frt-${conversation}`;
    const actions = (conversation: string) => pd.events.filter((e) => e.dedupKey === key(conversation)).map((e) => e.action);
    /** A VIP's conversation.opened whose first message is inside it (as `data.message`, or in `data.messages`). */
    const opened = (conversation: string, text: string | undefined, shape: 'message' | 'messages' = 'message') =>
      sample('muro/conversation.opened', (e) => {
        e.id = `evt_open_${conversation}`;
        e.data.conversation.id = conversation;
        e.data.visitor.email = 'Dana@BigCustomer.example';
        const first = { ...e.data.message, id: `msg_first_${conversation}`, text };
        delete e.data.message;
        if (text !== undefined) e.data[shape] = shape === 'message' ? first : [first];
      });

    it('starts at the first message inside conversation.opened: no reply within the timeout pages once; the first agent reply resolves', async () => {
      await post(opened('conv_open_wait', 'Checkout is down for all our EU customers'));
      await advance(60_000);
      // The VIP writes again while waiting: no second clock (the page still comes 2 minutes after the first message).
      await post(vip('conv_open_wait', 'hello? anyone?'));
      await advance(timeout - 60_000 - 1);
      expect(actions('conv_open_wait')).toEqual([]);
      await advance(1);
      expect(actions('conv_open_wait')).toEqual(['trigger']);
      expect(pd.incident(key('conv_open_wait'))).toMatchObject({ status: 'triggered', triggerCount: 1, severity: 'critical' });
      expect(pd.incident(key('conv_open_wait'))!.events[0]!.body).toMatchObject({
        payload: { custom_details: { first_message: 'Checkout is down for all our EU customers' } },
      });

      await post(vip('conv_open_wait', 'still waiting'));
      await advance(10 * timeout);
      expect(actions('conv_open_wait')).toEqual(['trigger']);
      await post(vip('conv_open_wait', 'sorry for the wait', 'agent'));
      expect(actions('conv_open_wait')).toEqual(['trigger', 'resolve']);
      expect(pd.incident(key('conv_open_wait'))).toMatchObject({ status: 'resolved', triggerCount: 1, resolveCount: 1 });

      // After all that, a new visitor message is not a first message: no new clock, no new incident.
      await post(vip('conv_open_wait', 'one more question'));
      await advance(10 * timeout);
      expect(actions('conv_open_wait')).toEqual(['trigger', 'resolve']);
    });

    it('starts at the first message of a conversation.opened that carries data.messages', async () => {
      await post(opened('conv_open_list', 'Our checkout is down', 'messages'));
      await advance(timeout);
      expect(actions('conv_open_list')).toEqual(['trigger']);
      expect(pd.incident(key('conv_open_list'))!.events[0]!.body).toMatchObject({ payload: { custom_details: { first_message: 'Our checkout is down' } } });
    });

    it('starts at the first message.created when conversation.opened carried no message', async () => {
      await post(opened('conv_open_empty', undefined));
      await advance(timeout);
      expect(actions('conv_open_empty')).toEqual([]);
      await post(vip('conv_open_empty', 'help please'));
      await advance(timeout - 1);
      expect(actions('conv_open_empty')).toEqual([]);
      await advance(1);
      expect(actions('conv_open_empty')).toEqual(['trigger']);
    });

    it('an agent reply before the timeout means no page, then or later', async () => {
      await post(opened('conv_open_fast', 'quick question'));
      await advance(timeout - 1_000);
      await post(vip('conv_open_fast', 'on it', 'agent'));
      await post(vip('conv_open_fast', 'thanks! and another thing'));
      await advance(10 * timeout);
      expect(actions('conv_open_fast')).toEqual([]);
      const runs = await it_.hl.store.read.runs({ recipe: 'vip-slow-first-response' });
      const forThis = runs.filter((r) => r.key === 'conv_open_fast');
      expect(forThis.map((r) => r.status)).toEqual(['done']);
    });
  });

  describe('PagerDuty failures (in process, the test CA added to the default store)', () => {
    beforeAll(() => setDefaultCACertificates([...getCACertificates('default'), certs.ca]));

    it('500 is retried; 429 after pdjs’s own retries is retried; 403 goes to dead letters', async () => {
      const it_ = await startWithShippedRecipes(
        {
          connections: { pagerduty: { routing_key: pd.routingKey, base_url: `https://${pd.server}` } },
          vars: { vip_emails: ['dana@bigcustomer.example'], vip_first_response_timeout: '2m', muro_inbox_url: 'https://app.muro.example/inbox' },
        } as never,
        undefined,
        backend,
      );
      try {
        const post = (event: Record<string, unknown>) => postMuro(it_.hl, event, it_.clock.now());
        const page = async (conversation: string) => {
          const event = vip(conversation, 'help');
          await post(event);
          await dispatched(it_.hl, event.id);
          it_.clock.advance(120_000);
          await it_.hl.worker.drain();
        };
        pd.failNext(500);
        await page('conv_pd500');
        expect((await it_.hl.store.read.runs({ status: 'retrying' })).map((r) => r.error)).toEqual([expect.stringMatching(/PagerDuty Events API answered 500/)]);
        it_.clock.advance(30_000);
        await it_.hl.worker.drain();
        expect(pd.incident('muro-frt-conv_pd500')?.triggerCount).toBe(1);

        const before = pd.requests.length;
        pd.failNext(429, 429, 429, 429);
        await page('conv_pd429');
        expect(pd.requests.length - before).toBe(4); // pdjs's own three retries, then hookline's schedule
        expect((await it_.hl.store.read.runs({ status: 'retrying' })).map((r) => r.error)).toEqual([expect.stringMatching(/answered 429/)]);
        it_.clock.advance(30_000);
        await it_.hl.worker.drain();
        expect(pd.incident('muro-frt-conv_pd429')?.triggerCount).toBe(1);

        pd.failNext(403);
        await page('conv_pd403');
        const dead = await it_.hl.store.read.runs({ status: 'dead' });
        expect(dead.map((r) => r.error)).toEqual([expect.stringMatching(/answered 403.*check the credential of connections\.pagerduty/)]);
      } finally {
        await it_.stop();
      }
    });
  });
});

describe('PagerDuty at a plain-http base URL (a local stand-in)', () => {
  it('sends the same Events API v2 request without pdjs, which only speaks https', async () => {
    const plain = await startPagerDutyEmulator({});
    const it_ = await startWithShippedRecipes({
      connections: { pagerduty: { routing_key: plain.routingKey, base_url: `http://${plain.server}` } },
      vars: { vip_emails: ['dana@bigcustomer.example'], vip_first_response_timeout: '2m', muro_inbox_url: 'https://app.muro.example/inbox' },
    } as never);
    try {
      await postMuro(it_.hl, vip('conv_plain', 'help'), it_.clock.now());
      await it_.hl.worker.drain();
      it_.clock.advance(120_000);
      await it_.hl.worker.drain();
      expect(plain.incident('muro-frt-conv_plain')).toMatchObject({ status: 'triggered', triggerCount: 1, severity: 'critical' });
      expect(plain.requests[0]!.body).toMatchObject({ routing_key: plain.routingKey, event_action: 'trigger', dedup_key: 'muro-frt-conv_plain' });
    } finally {
      await it_.stop();
      await plain.close();
    }
  });
});
