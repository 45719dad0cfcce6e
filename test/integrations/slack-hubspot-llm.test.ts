import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotEmulator, type HubSpotEmulator } from '../emulators/hubspot.ts';
import { startOpenAIEmulator, type OpenAIEmulator } from '../emulators/openai.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';
import { describeBackends } from '../helpers/backends.ts';
import { sample, startWithShippedRecipes, type Integration } from '../helpers/integration.ts';
import { postMuro } from '../helpers/recipes.ts';

let it_: Integration | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await it_?.stop();
  it_ = undefined;
  for (const close of closers.splice(0)) await close();
});

const post = (event: Record<string, unknown>) => postMuro(it_!.hl, event, it_!.clock.now());
const runsOf = async (recipe: string) => it_!.hl.store.read.runs({ recipe, limit: 100 });

async function slack(): Promise<SlackEmulator> {
  const emulator = await startSlackEmulator();
  closers.push(() => emulator.close());
  return emulator;
}

describeBackends('integrations: Slack, HubSpot, OpenAI', (backend) => {
  const shipped = (overrides: Parameters<typeof startWithShippedRecipes>[0] = {}, at?: number) => startWithShippedRecipes(overrides, at, backend);

  describe('Slack on conversation.opened', () => {
    it('posts the visitor, the first message and a link to the conversation, once', async () => {
      const s = await slack();
      it_ = await shipped({ connections: { slack: { webhook_url: s.webhookUrl } } } as never);
      await post(sample('muro/conversation.opened'));
      await post(sample('muro/message.created.visitor'));
      await it_.hl.worker.drain();
      expect(s.messages.map((m) => m.text)).toEqual([
        'New conversation from Dana Whitfield: “Hi! Our checkout page has been returning 502 errors since this morning.” <https://app.muro.example/inbox/conv_8h2k4m|Open in muro>',
      ]);
    });

    it('visitor text cannot ping the channel or plant a link: it arrives escaped, and only the recipe\'s own link is a link', async () => {
      const s = await slack();
      it_ = await shipped({ connections: { slack: { webhook_url: s.webhookUrl } } } as never);
      await post(
        sample('muro/conversation.opened', (e) => {
          e.data.visitor.name = '<!channel> <https://evil.example|Open in muro>';
          e.data.message.text = 'R&D asks <@U0ADMIN> to see <https://evil.example/login>';
        }),
      );
      await it_.hl.worker.drain();
      const text = s.messages[0]!.text!;
      expect(text).toBe(
        'New conversation from &lt;!channel&gt; &lt;https://evil.example|Open in muro&gt;: “R&amp;D asks &lt;@U0ADMIN&gt; to see &lt;https://evil.example/login&gt;” <https://app.muro.example/inbox/conv_8h2k4m|Open in muro>',
      );
      // What Slack reads as markup: every <…> is a link, a mention or a command (!channel, @user).
      expect([...text.matchAll(/<([^>]*)>/g)].map((m) => m[1])).toEqual(['https://app.muro.example/inbox/conv_8h2k4m|Open in muro']);
    });

    it('a test event goes to Slack with a [test] prefix', async () => {
      const s = await slack();
      it_ = await shipped({ connections: { slack: { webhook_url: s.webhookUrl } } } as never);
      await post(sample('muro/conversation.opened', (e) => (e.data.test = true)));
      await it_.hl.worker.drain();
      expect(s.messages[0]!.text).toMatch(/^\[test\] New conversation from Dana Whitfield/);
    });

    it('without a webhook URL the step is skipped, with the request it would have sent', async () => {
      it_ = await shipped();
      await post(sample('muro/conversation.opened'));
      await it_.hl.worker.drain();
      const [run] = await runsOf('slack-new-conversation');
      const detail = await it_.hl.store.read.run(run!.id);
      expect(detail).toMatchObject({ status: 'done', steps: [{ stepId: 'notify', status: 'skipped', output: { skipped: 'slack not configured', request: { body: { text: expect.stringContaining('Dana Whitfield') } } } }] });
    });

    it('500 is retried, 429 waits for Retry-After, 403 (a revoked webhook) goes to dead letters naming the connection', async () => {
      const s = await slack();
      // rate: off: two messages at one instant of the test's clock (Slack's default 1/s is tested in test/flow).
      it_ = await shipped({ connections: { slack: { webhook_url: s.webhookUrl, rate: 'off' } } } as never);
      s.failNext(500, { status: 429, retryAfter: 7 });
      await post(sample('muro/conversation.opened'));
      await it_.hl.worker.drain();
      let [run] = await runsOf('slack-new-conversation');
      expect(run).toMatchObject({ status: 'retrying', availableAt: it_.clock.now() + 30_000 });
      it_.clock.advance(30_000);
      await it_.hl.worker.drain();
      [run] = await runsOf('slack-new-conversation');
      expect(run).toMatchObject({ status: 'retrying', availableAt: it_.clock.now() + 7_000 });
      it_.clock.advance(7_000);
      await it_.hl.worker.drain();
      expect(s.messages).toHaveLength(1);

      s.failNext(403);
      await post(sample('muro/conversation.opened', (e) => (e.id = 'evt_second_open')));
      await it_.hl.worker.drain();
      const dead = await it_.hl.store.read.runs({ recipe: 'slack-new-conversation', status: 'dead' });
      expect(dead[0]!.error).toMatch(/Slack webhook answered 403.*check the credential of connections\.slack/);
    });
  });

  describe('HubSpot on visitor.identified', () => {
    let hubspot: HubSpotEmulator;
    const token = 'pat-na1-test';
    async function start() {
      hubspot = await startHubSpotEmulator({ accessToken: token });
      closers.push(() => hubspot.close());
      it_ = await shipped({ connections: { hubspot: { access_token: token, base_url: hubspot.basePath } } } as never);
    }

    it('upserts the contact by email and adds the transcript so far as a note on it', async () => {
      await start();
      await post(sample('muro/conversation.opened'));
      await post(sample('muro/message.created.visitor'));
      await post(sample('muro/visitor.identified'));
      await it_!.hl.worker.drain();
      const contact = hubspot.contactByEmail('dana@bigcustomer.example');
      expect(contact?.properties).toMatchObject({ email: 'dana@bigcustomer.example', firstname: 'Dana', lastname: 'Whitfield', phone: '+44 20 7946 0958', company: 'BigCustomer Ltd' });
      const notes = hubspot.notesForContact(contact!.id);
      expect(notes).toHaveLength(1);
      expect(notes[0]!.properties.hs_note_body).toBe(
        '<p><b>muro conversation conv_8h2k4m</b></p><p>Dana Whitfield: Hi! Our checkout page has been returning 502 errors since this morning.</p><p>Dana Whitfield: It affects every customer in the EU region.</p>',
      );
      // Identifying again updates the same contact rather than creating another.
      await post(sample('muro/visitor.identified', (e) => (e.id = 'evt_identified_again')));
      await it_!.hl.worker.drain();
      expect(hubspot.contacts.size).toBe(1);
    });

    it('against an API without the batch upsert endpoint: create, then update by email when the contact exists', async () => {
      hubspot = await startHubSpotEmulator({ accessToken: token, batchUpsert: false });
      closers.push(() => hubspot.close());
      it_ = await startWithShippedRecipes({ connections: { hubspot: { access_token: token, base_url: hubspot.basePath } } } as never);
      await post(sample('muro/visitor.identified'));
      await it_!.hl.worker.drain();
      await post(sample('muro/visitor.identified', (e) => ((e.id = 'evt_identified_update'), (e.data.visitor.phone = '+44 20 0000 0000'))));
      await it_!.hl.worker.drain();
      expect(hubspot.contacts.size).toBe(1);
      expect(hubspot.contactByEmail('dana@bigcustomer.example')?.properties).toMatchObject({ firstname: 'Dana', phone: '+44 20 0000 0000' });
      expect(hubspot.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'POST /crm/v3/objects/contacts/batch/upsert 404',
        'POST /crm/v3/objects/contacts 201',
        'POST /crm/v3/objects/contacts/batch/upsert 404',
        'POST /crm/v3/objects/contacts 409',
        'PATCH /crm/v3/objects/contacts/dana%40bigcustomer.example 200',
      ]);
    });

    it('429 waits for Retry-After, 500 retries, 401 dead-letters naming the connection', async () => {
      await start();
      hubspot.failNext({ status: 429, retryAfter: 10 }, 500);
      await post(sample('muro/visitor.identified'));
      await it_!.hl.worker.drain();
      let [run] = await runsOf('hubspot-sync-visitor');
      expect(run).toMatchObject({ status: 'retrying', availableAt: it_!.clock.now() + 10_000 });
      it_!.clock.advance(10_000);
      await it_!.hl.worker.drain();
      [run] = await runsOf('hubspot-sync-visitor');
      expect(run).toMatchObject({ status: 'retrying', attempt: 2 });
      it_!.clock.advance(60_000);
      await it_!.hl.worker.drain();
      expect(hubspot.contactByEmail('dana@bigcustomer.example')).toBeDefined();

      hubspot.failNext(401);
      await post(sample('muro/visitor.identified', (e) => (e.id = 'evt_identified_401')));
      await it_!.hl.worker.drain();
      const [dead] = await it_!.hl.store.read.runs({ recipe: 'hubspot-sync-visitor', status: 'dead' });
      expect(dead!.error).toMatch(/HubSpot contact upsert answered 401.*check the credential of connections\.hubspot/);
    });
  });

  describe('LLM summary on conversation.closed', () => {
    let openai: OpenAIEmulator;
    async function start() {
      openai = await startOpenAIEmulator({ apiKey: 'sk-test', reply: () => 'The agent fixed the EU load balancer and checkout works again.' });
      closers.push(() => openai.close());
      it_ = await shipped({ connections: { openai: { api_key: 'sk-test', base_url: openai.baseURL, model: 'gpt-4o-mini' } } } as never);
    }

    it('sends the transcript with the 50-word instruction and stores the summary with model, tokens and times', async () => {
      await start();
      await post(sample('muro/conversation.opened'));
      await post(sample('muro/message.created.agent'));
      await post(sample('muro/conversation.closed'));
      await it_!.hl.worker.drain();
      expect(openai.completions).toHaveLength(1);
      const request = openai.completions[0]!.request;
      expect(request.model).toBe('gpt-4o-mini');
      expect(request.messages[0]).toEqual({ role: 'system', content: 'Summarise the resolution of this support conversation in 50 words.' });
      expect(request.messages[1]!.content).toBe(
        'Dana Whitfield (visitor): Hi! Our checkout page has been returning 502 errors since this morning.\nSam Ortiz (agent): Thanks Dana, we are looking into it right now.',
      );
      const [row] = await it_!.hl.store.read.tableRows('conversation_summaries', 10);
      expect(row).toMatchObject({
        conversation_id: 'conv_8h2k4m',
        visitor_email: 'dana@bigcustomer.example',
        summary: 'The agent fixed the EU load balancer and checkout works again.',
        model: 'gpt-4o-mini',
        total_tokens: openai.completions[0]!.usage.total,
        opened_at: '2026-11-20T09:14:01Z',
        closed_at: '2026-11-20T09:41:29Z',
      });
      expect(Number(row!.latency_ms)).toBeGreaterThanOrEqual(0);
    });

    it('500 retries on the schedule, 429 after Retry-After; an exhausted quota and a wrong key go to dead letters', async () => {
      await start();
      openai.failNext(500, { status: 429, retryAfter: 3 });
      await post(sample('muro/conversation.opened'));
      await post(sample('muro/conversation.closed'));
      await it_!.hl.worker.drain();
      expect((await runsOf('llm-conversation-summary'))[0]).toMatchObject({ status: 'retrying', availableAt: it_!.clock.now() + 30_000 });
      expect((await runsOf('llm-conversation-summary'))[0]!.error).toMatch(/OpenAI answered 500/);
      it_!.clock.advance(30_000);
      await it_!.hl.worker.drain();
      expect((await runsOf('llm-conversation-summary'))[0]).toMatchObject({ status: 'retrying', availableAt: it_!.clock.now() + 3_000 });
      it_!.clock.advance(3_000);
      await it_!.hl.worker.drain();
      expect((await runsOf('llm-conversation-summary'))[0]!.status).toBe('done');

      const { insufficientQuotaBody } = await import('../emulators/openai.ts');
      openai.failNext({ status: 429, body: insufficientQuotaBody });
      await post(sample('muro/conversation.closed', (e) => (e.id = 'evt_closed_quota')));
      openai.failNext(401);
      await it_!.hl.worker.drain();
      await post(sample('muro/conversation.closed', (e) => (e.id = 'evt_closed_401')));
      await it_!.hl.worker.drain();
      const dead = (await it_!.hl.store.read.runs({ recipe: 'llm-conversation-summary', status: 'dead' })).map((r) => r.error);
      expect(dead).toEqual(expect.arrayContaining([expect.stringMatching(/insufficient quota/), expect.stringMatching(/OpenAI answered 401.*connections\.openai/)]));
    });
  });
});
