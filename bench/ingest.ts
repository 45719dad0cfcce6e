// Issue 2: acknowledgement throughput and latency of the receiving path, against a ceiling and a peer.
import { signedMuroEvent } from './lib/events.ts';
import { measure, median, type Figures } from './lib/load.ts';
import type { Server } from './lib/spawn.ts';
import { bare, expressPeer, hookline, SECRET } from './lib/targets.ts';

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
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
  };
}

export const header = () => `${'target'.padEnd(40)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`;
export const row = (name: string, f: Figures) =>
  `${name.padEnd(40)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(2).padStart(8)} ${f.p99.toFixed(2).padStart(8)} ${String(f.errors + f.non2xx).padStart(7)}`;

const targets = [
  ['(a) bare node:http 200', bare],
  ['(b) express peer (seed, in-memory)', expressPeer],
  ['(c) hookline, SQLite (durable)', () => hookline()],
] as const;

export async function ingestBench(o: BenchOptions): Promise<void> {
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
  const [a, b, c] = max as [Figures, Figures, Figures];
  const rate = Math.round(c.rps / 2);
  console.log(`\nAt half of hookline's maximum (${rate} req/s), every target:`);
  const half: Figures[] = [];
  for (const [name, start] of targets) {
    const server = await start();
    try {
      half.push(await medianRun(server, o, rate));
      console.log(row(name, half.at(-1)!));
    } finally {
      await server.stop();
    }
  }
  console.log(`\nthroughput c/a: ${(c.rps / a.rps).toFixed(2)}   c/b: ${(c.rps / b.rps).toFixed(2)} (goal c/b >= 0.70)`);
  console.log(`p99 at half of c's max: hookline ${half[2]!.p99.toFixed(1)} ms (goal <= 10), peer ${half[1]!.p99.toFixed(1)} ms, bare ${half[0]!.p99.toFixed(1)} ms`);
}
