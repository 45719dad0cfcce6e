// Issue 3: events through a recipe with one http step to a local server — the worker's events/s
// and receipt-to-destination latency with 10 000 queued events, against the hand-written receiver
// that forwards inline; then the same while the destination is down for part of the run.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { signedMuroEvent } from './lib/events.ts';
import { median, paced } from './lib/load.ts';
import { startServer } from './lib/spawn.ts';
import { hookline, SECRET } from './lib/targets.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

interface Sink {
  url: string;
  proc: ChildProcess;
  hits: Map<string, { sentAt: number; at: number }>;
  duplicates: number;
  refused: number;
  /** Resolves when `n` distinct events have arrived. */
  until(n: number, timeoutMs: number): Promise<void>;
  setDown(down: boolean): void;
  stop(): void;
}

async function startSink(): Promise<Sink> {
  const proc = fork(join(root, 'bench/servers/sink.ts'), { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve) => proc.stdout!.on('data', (d: Buffer) => {
    const m = /listening on (\S+)/.exec(String(d));
    if (m) resolve(m[1]!);
  }));
  const sink: Sink = {
    url,
    proc,
    hits: new Map(),
    duplicates: 0,
    refused: 0,
    until: (n, timeoutMs) =>
      new Promise((resolve, reject) => {
        if (sink.hits.size >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`only ${sink.hits.size}/${n} events reached the destination`)), timeoutMs);
        const check = () => {
          if (sink.hits.size >= n) {
            clearTimeout(timer);
            proc.off('message', check);
            resolve();
          }
        };
        proc.on('message', check);
      }),
    setDown: (down) => proc.send({ down }),
    stop: () => proc.kill(),
  };
  proc.on('message', (m: { id?: string; sentAt?: number; at?: number; refused?: number }) => {
    if (m.refused) sink.refused += m.refused;
    if (!m.id) return;
    if (sink.hits.has(m.id)) sink.duplicates++;
    else sink.hits.set(m.id, { sentAt: m.sentAt!, at: m.at! });
  });
  return sink;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const withSendTime = () => signedMuroEvent(SECRET, '/muro/webhook', () => ({ sent_at: Date.now() }));

/** Sends `amount` unique signed events (data.sent_at = send time): all at once over 50 connections, or paced at `rate`. */
async function blast(url: string, amount: number, rate?: number) {
  const started = Date.now();
  if (rate) await paced({ url, rate, amount, request: withSendTime });
  else await autocannon({ url, connections: 50, amount, requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...withSendTime() }) }] });
  return Date.now() - started;
}

function latencies(sink: Sink) {
  const values = [...sink.hits.values()].map((h) => h.at - h.sentAt).sort((a, b) => a - b);
  const first = Math.min(...[...sink.hits.values()].map((h) => h.sentAt));
  const last = Math.max(...[...sink.hits.values()].map((h) => h.at));
  return { p50: percentile(values, 50), p99: percentile(values, 99), spanMs: last - first };
}

const recipe = (target: string) => `name: forward
on: muro/message.created
steps:
  - id: deliver
    http:
      url: "${target}"
      body: { id: "{{ id }}", sent_at: "{{ data.sent_at }}" }
`;

async function hooklineWith(sink: Sink, yaml = '') {
  const server = await hookline(yaml);
  mkdirSync(join(server.dir, 'recipes'), { recursive: true });
  writeFileSync(join(server.dir, 'recipes', 'forward.yaml'), recipe(`${sink.url}/hook`));
  await new Promise((r) => setTimeout(r, 400)); // the recipe watcher picks the file up
  return server;
}

export async function e2eBench(o: { rounds: number }): Promise<void> {
  const amount = Number(process.env.BENCH_E2E_EVENTS ?? 10_000);
  console.log(`\n## End to end: ${amount} events through a recipe with one http step (median of ${o.rounds})\n`);
  console.log(`${'target'.padEnd(44)} ${'events/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'lost'.padStart(5)} ${'dup'.padStart(4)}`);
  const rows: Record<string, Array<{ rate: number; p50: number; p99: number; lost: number; dup: number }>> = {};
  for (let round = 0; round < o.rounds; round++) {
    for (const name of ['(b) express forwarding inline', '(c) hookline: durable queue + worker']) {
      const sink = await startSink();
      const server = name.startsWith('(b)')
        ? await startServer([join(root, 'bench/servers/forwarding-peer.ts')], { env: { MURO_WEBHOOK_SECRET: SECRET, TARGET_URL: `${sink.url}/hook` } })
        : await hooklineWith(sink);
      try {
        await blast(server.url, amount);
        await sink.until(amount, 300_000);
        const l = latencies(sink);
        (rows[name] ??= []).push({ rate: (amount / l.spanMs) * 1000, p50: l.p50, p99: l.p99, lost: amount - sink.hits.size, dup: sink.duplicates });
      } finally {
        await server.stop();
        sink.stop();
      }
    }
  }
  const summary: Record<string, { rate: number; p50: number; p99: number }> = {};
  for (const [name, list] of Object.entries(rows)) {
    summary[name] = { rate: median(list.map((r) => r.rate)), p50: median(list.map((r) => r.p50)), p99: median(list.map((r) => r.p99)) };
    const lost = list.reduce((n, r) => n + r.lost, 0);
    const dup = list.reduce((n, r) => n + r.dup, 0);
    console.log(`${name.padEnd(44)} ${summary[name]!.rate.toFixed(0).padStart(9)} ${summary[name]!.p50.toFixed(0).padStart(8)} ${summary[name]!.p99.toFixed(0).padStart(8)} ${String(lost).padStart(5)} ${String(dup).padStart(4)}`);
  }
  const b = summary['(b) express forwarding inline']!;
  const c = summary['(c) hookline: durable queue + worker']!;
  console.log(`\nhookline/inline throughput: ${(c.rate / b.rate).toFixed(2)}  (latency is send-to-destination and includes the backlog of ${amount} events sent at once)`);

  // Steady state: the same pipeline at a moderate rate, so latency is not the backlog's.
  const steadyRate = Math.round(c.rate / 2);
  const steady = Math.min(amount, steadyRate * 10);
  const sink = await startSink();
  const server = await hooklineWith(sink);
  try {
    await blast(server.url, steady, steadyRate);
    await sink.until(steady, 120_000);
    const l = latencies(sink);
    console.log(`steady ${steadyRate} events/s for ${(steady / steadyRate).toFixed(0)} s: receipt-to-destination p50 ${l.p50} ms, p99 ${l.p99} ms`);
  } finally {
    await server.stop();
    sink.stop();
  }

  // Outage: the destination answers 503 for the first part of the run; the queue drains afterwards.
  const outage = Math.min(amount, 5000);
  const downMs = 5000;
  const sink2 = await startSink();
  const server2 = await hooklineWith(sink2, 'retry: { schedule: [1s, 2s, 4s, 8s, 16s], jitter: 0.2 }\n');
  try {
    sink2.setDown(true);
    const sending = blast(server2.url, outage, 1000);
    await new Promise((r) => setTimeout(r, downMs));
    sink2.setDown(false);
    const upAt = Date.now();
    await sending;
    await sink2.until(outage, 300_000);
    const drainedAt = Math.max(...[...sink2.hits.values()].map((h) => h.at));
    console.log(
      `outage: ${outage} events at 1000/s, destination down for the first ${downMs / 1000} s (${sink2.refused} requests refused): ` +
        `all ${sink2.hits.size} delivered ${((drainedAt - upAt) / 1000).toFixed(1)} s after it came back, ${outage - sink2.hits.size} lost, ${sink2.duplicates} duplicates`,
    );
  } finally {
    await server2.stop();
    sink2.stop();
  }
}
