// Scale-out guarantees with real processes: two `hookline serve` on one PostgreSQL schema. Every
// event stored once and every step executed once whichever instance receives or works; a wait_for
// timer fires once across instances; a killed instance's leased runs are finished by the other
// after the lease expires; a rolling restart loses nothing. Skipped without HOOKLINE_TEST_PG_URL.
import { afterEach, describe, expect, it } from 'vitest';
import { howToEnable, withPostgres } from '../helpers/backends.ts';
import { startDestination, type Destination } from '../helpers/destination.ts';
import { MURO_SECRET } from '../helpers/env.ts';
import { send, type Answer } from '../helpers/server.ts';
import { muroHeaders } from '../helpers/sign.ts';
import { byKey, countLog, startCluster, type Cluster } from './cluster.ts';

let cluster: Cluster | undefined;
let destinations: Destination[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const d of destinations.splice(0)) {
    d.release();
    await d.close();
  }
});

async function destination(): Promise<Destination> {
  const d = await startDestination();
  destinations.push(d);
  return d;
}

/** Posts a signed muro event to one instance (whatever it answers). */
function post(baseUrl: string, event: Record<string, unknown>): Promise<Answer> {
  const body = JSON.stringify(event);
  return send(`${baseUrl}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET) });
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

const count = async (sql: string, values: unknown[] = []) => Number((await cluster!.db.query<{ n: string }>(sql, values))[0]!.n);

describe.skipIf(!withPostgres)('two instances on one PostgreSQL', () => {
  it('events sent round-robin, each sent twice to different instances: stored once, every step executed once, by both instances', async () => {
    const dest = await destination();
    cluster = await startCluster({
      size: 2,
      config: 'worker: { poll: 200 }\n',
      recipes: {
        two: `on: muro/message.created\nsteps:\n  - id: one\n    http: { url: "${dest.origin}/one", body: { id: "{{ id }}" } }\n  - id: two\n    http: { url: "${dest.origin}/two", body: { id: "{{ id }}" } }\n`,
      },
    });
    const [a, b] = cluster.instances as [typeof cluster.instances[0], typeof cluster.instances[0]];
    const n = 200;
    const ids = Array.from({ length: n }, (_, i) => `evt_twice_${process.pid}_${i}`);
    // Event i goes to instance i % 2 and, at the same moment, to the other one (a sender's retry
    // racing its first delivery, through a load balancer).
    const answers = await pool(ids, 16, async (id, i) => {
      const event = { id, type: 'message.created', data: { n: i } };
      const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
      return Promise.all([post(first!.url, event), post(second!.url, event)]);
    });
    for (const [i, pair] of answers.entries()) {
      expect(pair.map((x) => x.status)).toEqual([200, 200]);
      // Exactly one of the two deliveries stored it; the other was told it is a duplicate.
      expect(pair.map((x) => x.json).sort((x, y) => Number(Boolean(x.duplicate)) - Number(Boolean(y.duplicate)))).toEqual([
        { ok: true, id: ids[i] },
        { ok: true, duplicate: true },
      ]);
    }

    await dest.waitFor(2 * n, 30_000);
    await expect.poll(() => count(`SELECT count(*) AS n FROM runs WHERE status = 'done'`), { timeout: 10_000 }).toBe(n);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(n);
    expect(await count('SELECT count(DISTINCT event_id) AS n FROM events')).toBe(n);
    expect(await count('SELECT count(*) AS n FROM runs')).toBe(n);
    // Each step of each run was executed once: one request per idempotency key, none twice.
    const keys = byKey(dest.requests);
    expect(keys.size).toBe(2 * n);
    expect([...keys.values()].filter((c) => c !== 1)).toEqual([]);
    expect(dest.requests).toHaveLength(2 * n);
    // Both instances worked: any instance can receive and any can run recipes.
    const done = [countLog(a!, /"msg":"run done"/), countLog(b!, /"msg":"run done"/)];
    expect(done[0]! + done[1]!).toBe(n);
    expect(done.every((d) => d > 0)).toBe(true);
  });

  it('a wait_for timer fires once across instances; a reply racing the timer resolves the wait once', async () => {
    const dest = await destination();
    const timeoutMs = 1_500;
    cluster = await startCluster({
      size: 2,
      config: 'worker: { poll: 200 }\n',
      recipes: {
        timer: `on: muro/conversation.opened
steps:
  - id: reply
    wait_for:
      event: muro/message.created
      match: data.conversation.id = $trigger.data.conversation.id
      timeout: ${timeoutMs}ms
  - id: after
    http: { url: "${dest.origin}/after", body: { conversation: "{{ data.conversation.id }}", timed_out: "{{ $steps.reply.timed_out }}" } }
`,
      },
    });
    const urls = cluster.instances.map((c) => c.url);
    const tag = `${process.pid}_${Date.now()}`;
    const conversations = Array.from({ length: 30 }, (_, i) => `conv_${tag}_${i}`);
    // 0-9: answered at once; 10-19: never answered (timed out); 20-29: answered at the deadline,
    // racing the timers that both instances sweep.
    const opened = Date.now();
    await pool(conversations, 10, (c, i) => post(urls[i % 2]!, { id: `evt_open_${c}`, type: 'conversation.opened', data: { conversation: { id: c } } }));
    const reply = (c: string, i: number) => post(urls[(i + 1) % 2]!, { id: `evt_reply_${c}`, type: 'message.created', data: { conversation: { id: c } } });
    await pool(conversations.slice(0, 10), 10, (c, i) => reply(c, i));
    await dest.waitFor(10, 10_000);
    // The deliberate race: replies sent as the deadline passes (a time, not a signal, is the point here).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, opened + timeoutMs - Date.now())));
    await pool(conversations.slice(20), 10, (c, i) => reply(c, i + 20));

    await dest.waitFor(30, 15_000);
    await expect.poll(() => count(`SELECT count(*) AS n FROM runs WHERE status = 'done'`), { timeout: 10_000 }).toBe(30);
    const got = new Map<string, string>();
    for (const r of dest.requests) {
      const body = r.body as { conversation: string; timed_out: boolean | string };
      expect(got.has(body.conversation)).toBe(false); // once per conversation
      got.set(body.conversation, String(body.timed_out));
    }
    expect(got.size).toBe(30);
    expect(conversations.slice(0, 10).map((c) => got.get(c))).toEqual(Array(10).fill('false'));
    expect(conversations.slice(10, 20).map((c) => got.get(c))).toEqual(Array(10).fill('true'));
    // Each wait ended once, either way (a reply already there when the step ran resolved it without
    // a timer), and its step was recorded once.
    expect(await count(`SELECT count(*) AS n FROM waits WHERE status = 'waiting'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM steps WHERE step_id = 'reply' AND status = 'done'`)).toBe(30);
    expect(await count(`SELECT count(*) AS n FROM steps WHERE step_id = 'after'`)).toBe(30);
    const timedOut = await count(`SELECT count(*) AS n FROM waits WHERE status = 'timed_out'`);
    expect(timedOut).toBe([...got.values()].filter((v) => v === 'true').length);
  });

  it('kill -9 of one instance mid-run: the other finishes its leased runs once the lease expires, without repeating finished steps', async () => {
    const first = await destination();
    const second = await destination();
    const leaseMs = 2_000;
    cluster = await startCluster({
      size: 2,
      running: 1,
      config: `worker: { poll: 100, lease: ${leaseMs}ms }\n`,
      recipes: {
        two: `on: muro/*\nsteps:\n  - id: one\n    http: { url: "${first.origin}/one" }\n  - id: two\n    http: { url: "${second.origin}/two" }\n`,
      },
    });
    const doomed = cluster.instances[0]!;
    second.hold(); // step two of every run stays in flight on the doomed instance
    const k = 8;
    for (let i = 0; i < k; i++) expect((await post(doomed.url, { id: `evt_lease_${process.pid}_${i}`, type: 'x', data: {} })).status).toBe(200);
    await second.arrived(k);
    // A second instance joins while the first still holds every lease, on another "host" as far as
    // leases go: it may take the runs over only when their leases run out.
    const survivor = await cluster.start(1);
    const owners = await cluster.db.query<{ owner: string }>(`SELECT DISTINCT lease_owner AS owner FROM runs WHERE status = 'running'`);
    expect(owners.map((o) => o.owner.split(':')[1])).toEqual([String(doomed.proc.pid)]);

    const done = survivor.waitForLog(/"msg":"run done"/, 15_000);
    await doomed.kill();
    const killedAt = Date.now();
    second.release();
    await done;
    await second.arrived(2 * k, 15_000);
    await expect.poll(() => count(`SELECT count(*) AS n FROM runs WHERE status = 'done'`), { timeout: 10_000 }).toBe(k);

    // Finished steps are not repeated; the step in flight at the kill is sent again with its key.
    expect(first.requests).toHaveLength(k);
    const keys = byKey(second.requests);
    expect(keys.size).toBe(k);
    expect([...keys.values()]).toEqual(Array(k).fill(2));
    // Taken over after the lease ran out, not before: the last heartbeat was at most lease/3 before the kill.
    const retaken = second.requests.slice(k).map((r) => r.time - killedAt);
    expect(Math.min(...retaken)).toBeGreaterThanOrEqual(leaseMs - leaseMs / 3 - 100);
    expect(Math.max(...retaken)).toBeLessThan(leaseMs + 5_000);
    expect(countLog(survivor, /"msg":"run done"/)).toBe(k);
  });

  it('a rolling restart (SIGTERM, start again, one instance at a time) under load loses nothing and runs nothing twice', async () => {
    const dest = await destination();
    cluster = await startCluster({
      size: 2,
      config: 'worker: { poll: 200 }\n',
      recipes: { forward: `on: muro/*\nsteps:\n  - id: call\n    http: { url: "${dest.origin}/x", body: { id: "{{ id }}" } }\n` },
    });
    const c = cluster;
    // The load balancer: round-robin over the instances in rotation; a refused, reset or 503 request
    // is sent again to the next one (as muro's retries would, only sooner).
    const rotation = new Set(c.instances.map((i) => i.url));
    let rr = 0;
    const retries = { count: 0 };
    const deliver = async (event: Record<string, unknown>) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const urls = [...rotation];
        const url = urls[rr++ % urls.length]!;
        const answer = await post(url, event).catch(() => undefined);
        if (answer?.status === 200) return answer;
        retries.count++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`event ${String(event.id)} was never acknowledged`);
    };
    // Events keep coming (8 senders) from before the first restart until after the second.
    const processes = [...c.instances];
    let restarted = false;
    let sent = 0;
    let stopAt = Infinity;
    const ids: string[] = [];
    const answers: Answer[] = [];
    const sending = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < stopAt) {
          const id = `evt_roll_${process.pid}_${ids.length}`;
          ids.push(id);
          answers.push(await deliver({ id, type: 'message.created', data: {} }));
          sent++;
          if (restarted && stopAt === Infinity) stopAt = sent + 100;
        }
      }),
    );
    const until = async (count: number) => {
      while (sent < count) await dest.nextArrival();
    };
    for (const i of [0, 1]) {
      await until(sent + 100);
      const old = c.instances[i]!;
      expect(await old.stop()).toBe(0); // SIGTERM: drains requests and running steps, then exits
      rotation.delete(old.url);
      const fresh = await c.start(i);
      processes.push(fresh);
      rotation.add(fresh.url);
    }
    restarted = true;
    await sending;
    const n = ids.length;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Every one of the four processes acknowledged events: the load spanned both restarts.
    expect(processes.map((p) => countLog(p, /"msg":"event accepted"/) > 0)).toEqual([true, true, true, true]);

    await dest.waitFor(n, 30_000);
    await expect.poll(() => count(`SELECT count(*) AS n FROM runs WHERE status = 'done'`), { timeout: 10_000 }).toBe(n);
    expect(await count('SELECT count(DISTINCT event_id) AS n FROM events')).toBe(n);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(n);
    const keys = byKey(dest.requests);
    expect(keys.size).toBe(n);
    expect([...keys.values()].filter((x) => x !== 1)).toEqual([]);
  });
});

describe.skipIf(withPostgres)(`two instances on one PostgreSQL (${howToEnable})`, () => {
  it('stores once, runs once, fires timers once, takes over leases, survives a rolling restart', () => {});
});
