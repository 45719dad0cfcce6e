// Issue 2: acknowledgement throughput and latency of the receiving path, against a ceiling and a peer.
import { signedMuroEvent, signedStandardWebhooksEvent } from './lib/events.ts';
import { measure, median, paced, type Figures, type Load } from './lib/load.ts';
import { cpuSeconds } from './lib/proc.ts';
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

interface Contender {
  name: string;
  server: Server;
  request: Load['request'];
}

/**
 * Contenders measured in turn, round after round (so that a machine shared with others drifts
 * under all of them alike): the median of each one's rounds, the median of the per-round throughput
 * ratios to the first, and the server's CPU per 1 000 acknowledged requests (from /proc), which the
 * load of other processes moves far less than throughput.
 */
async function sideBySide(title: string, contenders: Contender[], o: BenchOptions): Promise<Array<Figures & { cpuMs: number; ratio: number }>> {
  const rounds = Math.max(o.rounds * 2, 6);
  const durationSec = Math.max(5, Math.round(o.durationSec / 2));
  console.log(`\n## ${title}, ${o.connections} connections, ${rounds} interleaved rounds of ${durationSec}s\n`);
  console.log(`${header()} ${'CPU ms/1000'.padStart(12)}`);
  const runs = contenders.map(() => [] as Array<Figures & { cpuMs: number }>);
  const once = async (c: Contender, seconds: number) => {
    const before = cpuSeconds(c.server.proc.pid!) ?? 0;
    const figures = await measure({ url: c.server.url, connections: o.connections, request: c.request, durationSec: seconds });
    const cpu = (cpuSeconds(c.server.proc.pid!) ?? 0) - before;
    return { ...figures, cpuMs: (cpu * 1_000_000) / Math.max(1, figures.rps * seconds) };
  };
  for (const c of contenders) await once(c, 2);
  for (let i = 0; i < rounds; i++) for (const [k, c] of contenders.entries()) runs[k]!.push(await once(c, durationSec));
  return contenders.map((c, k) => {
    const figures = { ...medians(runs[k]!), cpuMs: median(runs[k]!.map((r) => r.cpuMs)), ratio: median(runs[k]!.map((r, i) => r.rps / runs[0]![i]!.rps)) };
    console.log(`${row(c.name, figures)} ${figures.cpuMs.toFixed(0).padStart(12)}`);
    return figures;
  });
}

/** Sources side by side: the same hookline (receiver only), muro's events vs a Standard Webhooks source's. */
export async function sourcesBench(o: BenchOptions): Promise<void> {
  const server = await hookline('', ['--no-worker']);
  try {
    const [muro, app] = await sideBySide(
      'Ingest by source: one hookline on SQLite (receiver only)',
      [
        { name: '(c) muro source (hex, "<t>.<body>")', server, request: () => signedMuroEvent(SECRET) },
        { name: '(d) standard-webhooks source', server, request: () => signedStandardWebhooksEvent(SW_SECRET) },
      ],
      o,
    );
    console.log(`\nthroughput d/c: ${app!.ratio.toFixed(2)} (median of the rounds' ratios; goal >= 0.90)   CPU per request d/c: ${(app!.cpuMs / muro!.cpuMs).toFixed(2)}`);
  } finally {
    await server.stop();
  }
}

/** The two HTTP adapters of one receive core, side by side: the standalone (fastify) server and hl.express(). */
export async function adaptersBench(o: BenchOptions): Promise<void> {
  const fastify = await hookline('', ['--no-worker']);
  const express = await expressHookline();
  try {
    const request = () => signedMuroEvent(SECRET);
    const [f, e] = await sideBySide(
      'Ingest by adapter: muro events, SQLite, receiver only',
      [
        { name: '(c) standalone server (fastify)', server: fastify, request },
        { name: '(e) hl.express() in an express 5 app', server: express, request },
      ],
      o,
    );
    console.log(`\nthroughput e/c: ${e!.ratio.toFixed(2)} (median of the rounds' ratios)   CPU per request e/c: ${(e!.cpuMs / f!.cpuMs).toFixed(2)}`);
  } finally {
    await fastify.stop();
    await express.stop();
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
