// Issue 2: acknowledgement throughput and latency of the receiving path, against a ceiling and a peer.
import { signedMuroEvent, signedStandardWebhooksEvent } from './lib/events.ts';
import { measure, median, paced, type Figures } from './lib/load.ts';
import type { Server } from './lib/spawn.ts';
import { bare, expressHookline, expressPeer, hookline, SECRET, SW_SECRET } from './lib/targets.ts';

export interface BenchOptions {
  durationSec: number;
  rounds: number;
  connections: number;
}

/** Medians over `rounds` runs after a warm-up; `rate` limits requests per second (unset: saturate). */
export async function medianRun(server: Server, o: BenchOptions, rate?: number, request = () => signedMuroEvent(SECRET)): Promise<Figures> {
  const load = { url: server.url, connections: o.connections, request, ...(rate ? { rate } : {}) };
  await measure({ ...load, durationSec: 2 });
  const rounds: Figures[] = [];
  for (let i = 0; i < o.rounds; i++) rounds.push(await measure({ ...load, durationSec: o.durationSec }));
  return medians(rounds);
}

/** Medians of rates and latencies over rounds; errors summed. */
export function medians(rounds: Figures[]): Figures {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
  };
}

/** The same at a steady rate (open loop, evenly spaced requests), so that latency is the server's. */
async function medianRunPaced(server: Server, o: BenchOptions, rate: number): Promise<Figures & { serverP99?: number }> {
  const request = () => signedMuroEvent(SECRET);
  await paced({ url: server.url, rate, amount: rate * 2, request });
  const before = await ackHistogram(server.url);
  const rounds: Figures[] = [];
  for (let i = 0; i < o.rounds; i++) rounds.push(await paced({ url: server.url, rate, amount: rate * o.durationSec, request }));
  const after = await ackHistogram(server.url);
  return { ...medians(rounds), ...(after ? { serverP99: quantile(after, before, 0.99) } : {}) };
}

/** hookline's own ack latency histogram (from /metrics): request in to answer out, without the client's share. */
export async function ackHistogram(url: string): Promise<Map<number, number> | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  const entries = [...text.matchAll(/hookline_ack_duration_seconds_bucket\{le="([^"]+)",source="muro"\} (\d+)/g)];
  return entries.length ? new Map(entries.map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])])) : undefined;
}

/** The upper bound (ms) of the bucket holding quantile q of the requests between two scrapes. */
export function quantile(after: Map<number, number>, before: Map<number, number> | undefined, q: number): number {
  const total = after.get(Infinity)! - (before?.get(Infinity) ?? 0);
  for (const [le, n] of after) if (n - (before?.get(le) ?? 0) >= q * total) return le * 1000;
  return Infinity;
}

export const header = () => `${'target'.padEnd(40)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`;
export const row = (name: string, f: Figures) =>
  `${name.padEnd(40)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(2).padStart(8)} ${f.p99.toFixed(2).padStart(8)} ${String(f.errors + f.non2xx).padStart(7)}`;

const targets = [
  ['(a) bare node:http 200', bare],
  ['(b) express peer (seed, in-memory)', expressPeer],
  ['(c) hookline, SQLite (durable)', () => hookline('', ['--no-worker'])],
  ['(c+) hookline, SQLite, dispatcher working too', () => hookline()],
  ['(e) hookline in express 5 (hl.express())', () => expressHookline()],
] as const;

/** Sources side by side: the same hookline (receiver only), muro's events vs a Standard Webhooks source's. */
async function sourcesBench(o: BenchOptions): Promise<void> {
  console.log(`\n## Ingest by source: one hookline on SQLite (receiver only), ${o.connections} connections, median of ${o.rounds} x ${o.durationSec}s, the two interleaved\n`);
  console.log(header());
  const server = await hookline('', ['--no-worker']);
  try {
    const requests = { muro: () => signedMuroEvent(SECRET), app: () => signedStandardWebhooksEvent(SW_SECRET) };
    const rounds: Record<keyof typeof requests, Figures[]> = { muro: [], app: [] };
    const load = (name: keyof typeof requests, durationSec: number) => measure({ url: server.url, connections: o.connections, request: requests[name], durationSec });
    await load('muro', 2);
    await load('app', 2);
    for (let i = 0; i < o.rounds; i++) {
      for (const name of ['muro', 'app'] as const) rounds[name].push(await load(name, o.durationSec));
    }
    const muro = medians(rounds.muro);
    const app = medians(rounds.app);
    console.log(row('(c) muro source (hex, "<t>.<body>")', muro));
    console.log(row('(d) standard-webhooks source', app));
    console.log(`\nthroughput d/c: ${(app.rps / muro.rps).toFixed(2)} (goal >= 0.90: base64 and the id in the MAC cost next to nothing)`);
  } finally {
    await server.stop();
  }
}

/** The two HTTP adapters of one receive core, side by side: the standalone (fastify) server and hl.express(), rounds interleaved. */
async function adaptersBench(o: BenchOptions): Promise<void> {
  console.log(`\n## Ingest by adapter: muro events, SQLite, receiver only, ${o.connections} connections, median of ${o.rounds} x ${o.durationSec}s, the two interleaved\n`);
  console.log(header());
  const servers = { fastify: await hookline('', ['--no-worker']), express: await expressHookline() };
  try {
    const rounds: Record<keyof typeof servers, Figures[]> = { fastify: [], express: [] };
    const load = (name: keyof typeof servers, durationSec: number) => measure({ url: servers[name].url, connections: o.connections, request: () => signedMuroEvent(SECRET), durationSec });
    await load('fastify', 2);
    await load('express', 2);
    for (let i = 0; i < o.rounds; i++) {
      for (const name of ['fastify', 'express'] as const) rounds[name].push(await load(name, o.durationSec));
    }
    const fastify = medians(rounds.fastify);
    const express = medians(rounds.express);
    console.log(row('(c) standalone server (fastify)', fastify));
    console.log(row('(e) hl.express() in an express 5 app', express));
    console.log(`\nthroughput e/c: ${(express.rps / fastify.rps).toFixed(2)}`);
  } finally {
    await servers.fastify.stop();
    await servers.express.stop();
  }
}

export async function ingestBench(o: BenchOptions): Promise<void> {
  await sourcesBench(o);
  await adaptersBench(o);
  console.log(`\n## Ingest: unique signed muro events, ${o.connections} keep-alive connections, median of ${o.rounds} x ${o.durationSec}s\n`);
  console.log(header());
  const max: Figures[] = [];
  for (const [name, start] of targets) {
    const server = await start();
    try {
      max.push(await medianRun(server, o));
      console.log(row(name, max.at(-1)!));
    } finally {
      await server.stop();
    }
  }
  const [a, b, c, cw, e] = max as [Figures, Figures, Figures, Figures, Figures];
  const rate = Math.round(c.rps / 2);
  console.log(`\nAt half of hookline's maximum (${rate} req/s), every target:`);
  const half: Array<Figures & { serverP99?: number }> = [];
  for (const [name, start] of targets) {
    const server = await start();
    try {
      half.push(await medianRunPaced(server, o, rate));
      console.log(row(name, half.at(-1)!));
    } finally {
      await server.stop();
    }
  }
  console.log(`\nthroughput c/a: ${(c.rps / a.rps).toFixed(2)}   c/b: ${(c.rps / b.rps).toFixed(2)} (goal c/b >= 0.70)   c+/b: ${(cw.rps / b.rps).toFixed(2)}   e/c (express adapter / fastify): ${(e.rps / c.rps).toFixed(2)}`);
  console.log(`p99 at half of c's max, client-side: hookline ${half[2]!.p99.toFixed(1)} ms (goal <= 10), with dispatcher ${half[3]!.p99.toFixed(1)} ms, peer ${half[1]!.p99.toFixed(1)} ms, bare ${half[0]!.p99.toFixed(1)} ms`);
  console.log(`p99 at half of c's max, hookline's own ack histogram (no client share): <= ${half[2]!.serverP99} ms, with dispatcher <= ${half[3]!.serverP99} ms, express adapter <= ${half[4]!.serverP99} ms (client-side ${half[4]!.p99.toFixed(1)} ms)`);
}
