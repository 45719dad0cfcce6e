// A connection's rate is shared by every instance on PostgreSQL: two `hookline serve` processes on one
// schema, each receiving half the events, still call Slack at most 2 times in any second with 2/s.
import { afterEach, describe, expect, it } from 'vitest';
import { withPostgres } from '../helpers/backends.ts';
import { MURO_SECRET } from '../helpers/env.ts';
import { send } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack.ts';
import { countLog, startCluster, type Cluster } from '../scale/cluster.ts';
import { busiestWindow } from './windows.ts';

let cluster: Cluster | undefined;
let slack: SlackEmulator | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await slack?.close();
  slack = undefined;
});

describe.skipIf(!withPostgres)('rate across two instances on one PostgreSQL', () => {
  it('rate 2/s with two instances is still 2/s: 30 Slack steps, at most 2 in any second, each once', async () => {
    slack = await startSlackEmulator();
    cluster = await startCluster({
      size: 2,
      config: `connections:\n  slack: { webhook_url: "${slack.webhookUrl}", rate: 2/s }\nworker: { poll: 200 }\n`,
      recipes: { notify: `on: muro/message.created\nsteps:\n  - id: post\n    slack: { text: "n={{ data.n }}" }\n` },
    });
    const [a, b] = cluster.instances;
    for (let n = 0; n < 30; n++) {
      const body = JSON.stringify({ id: `evt_two_${process.pid}_${n}`, type: 'message.created', data: { n } });
      const answer = await send(`${(n % 2 === 0 ? a : b)!.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) });
      expect(answer.status).toBe(200);
    }
    await slack.waitFor(30, 45_000);
    expect(busiestWindow(slack.requests.map((r) => r.time), 1000)).toBeLessThanOrEqual(2);
    expect(new Set(slack.messages.map((m) => m.text)).size).toBe(30);
    expect(slack.requests).toHaveLength(30);
    // Both instances called Slack.
    await expect.poll(() => countLog(a!, /"msg":"run done"/) + countLog(b!, /"msg":"run done"/), { timeout: 5000 }).toBe(30);
    expect(countLog(a!, /"msg":"run done"/)).toBeGreaterThan(0);
    expect(countLog(b!, /"msg":"run done"/)).toBeGreaterThan(0);
  }, 90_000);
});
