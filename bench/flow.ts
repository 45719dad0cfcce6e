// Issue 14: a destination outage, circuit breaker on vs off, in one run. Events go through one Slack
// step (a connection, so the circuit applies) to a local destination that answers 503 for a while.
// Figures: attempts spent on the outage (requests refused), dead letters, and how long after the
// destination came back the last event was delivered.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signedMuroEvent } from './lib/events.ts';
import { median, paced } from './lib/load.ts';
import { hookline, SECRET } from './lib/targets.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Figures = Record<'refused' | 'dead' | 'drain' | 'total', number>;

/** A Slack-webhook-like destination: answers `ok`, or 503 while down; counts both. */
async function destination() {
  let down = false;
  let refused = 0;
  const delivered = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (down) {
        refused++;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('service_unavailable');
        return;
      }
      const text = (JSON.parse(body) as { text: string }).text;
      if (!delivered.has(text)) delivered.set(text, Date.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0BENCH/B0BENCH/secret`,
    delivered,
    get refused() {
      return refused;
    },
    setDown: (value: boolean) => (down = value),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const recipe = `name: notify
on: muro/message.created
steps:
  - id: post
    slack: { text: "{{ id }}" }
`;

async function trial(circuit: string, o: { events: number; rate: number; downSec: number }): Promise<Figures> {
  const dest = await destination();
  const server = await hookline(
    `connections:\n  slack: { webhook_url: "${dest.url}", rate: off, circuit: ${circuit} }\nretry: { schedule: [1s, 2s, 4s, 8s, 16s], jitter: 0.2 }\n`,
    [],
    { recipes: { 'notify.yaml': recipe } },
  );
  try {
    const started = Date.now();
    dest.setDown(true);
    const sending = paced({ url: server.url, rate: o.rate, amount: o.events, request: () => signedMuroEvent(SECRET) });
    await sleep(o.downSec * 1000);
    dest.setDown(false);
    const upAt = Date.now();
    await sending;
    // Every event delivered, or 40 s past the longest retry (dead letters are not delivered).
    const deadline = upAt + 60_000;
    while (dest.delivered.size < o.events && Date.now() < deadline) await sleep(100);
    const last = Math.max(...dest.delivered.values());
    return { refused: dest.refused, dead: o.events - dest.delivered.size, drain: (last - upAt) / 1000, total: (last - started) / 1000 };
  } finally {
    await server.stop();
    await dest.close();
  }
}

export async function flowBench(o: { rounds: number }): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2) || o.rounds;
  const events = Number(process.env.BENCH_FLOW_EVENTS ?? 500);
  const rate = 100;
  const downSec = Number(process.env.BENCH_FLOW_DOWN_SEC ?? 20);
  const targets: Array<[string, string]> = [
    ['circuit off', 'off'],
    ['circuit on (after 5, cool_down 5s)', '{ after: 5, cool_down: 5s }'],
  ];
  console.log(`\n## Flow control: a destination outage, circuit on vs off (median of ${rounds} round(s), all in this run)\n`);
  console.log(`hookline SQLite, one Slack step per event (rate off), retries 1, 2, 4, 8, 16 s (±20 %); ${events} events at ${rate}/s;`);
  console.log(`the destination answers 503 for the first ${downSec} s. "refused" = attempts spent on the outage, "dead" = dead letters,`);
  console.log('"drain s" = last delivery after the destination came back, "total s" = last delivery after the first send.');
  const results = new Map<string, Figures[]>(targets.map(([name]) => [name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const [name, circuit] of targets) {
      const figures = await trial(circuit, { events, rate, downSec });
      results.get(name)!.push(figures);
      console.error(`  [round ${round}/${rounds}] ${name}: refused ${figures.refused}, dead ${figures.dead}, drain ${figures.drain.toFixed(1)} s, total ${figures.total.toFixed(1)} s`);
    }
  }
  const keys = ['refused', 'dead', 'drain', 'total'] as const;
  const summary = (name: string) => Object.fromEntries(keys.map((k) => [k, median(results.get(name)!.map((f) => f[k]))])) as Figures;
  const width = Math.max(...targets.map(([n]) => n.length)) + 2;
  const row = (name: string, cells: string[]) => console.log(name.padEnd(width) + cells.map((c) => c.padStart(10)).join(''));
  console.log('');
  row('', ['refused', 'dead', 'drain s', 'total s']);
  for (const [name] of targets) {
    const s = summary(name);
    row(name, [String(s.refused), String(s.dead), s.drain.toFixed(1), s.total.toFixed(1)]);
  }
  const off = summary(targets[0]![0]);
  const on = summary(targets[1]![0]);
  const ratio = (a: number, b: number) => (b === 0 ? '—' : (a / b).toFixed(3));
  row('ratio on/off', [ratio(on.refused, off.refused), '', ratio(on.drain, off.drain), ratio(on.total, off.total)]);
}
