// Issue 15: what OpenTelemetry tracing costs the receiving path. The same ingest load (unique signed
// muro events, `serve --no-worker` on SQLite) on hookline with tracing off, and on, exporting every
// receive span over OTLP/HTTP to a local stand-in collector (a process of its own): protobuf (the
// default protocol) and JSON (whose spans the collector counts, to see that none is dropped); and
// with one trace in ten sampled.
// Rounds are interleaved across the targets, all started at once, so that the machine's drift
// weighs on each alike.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedMuroEvent } from './lib/events.ts';
import { measure, median, type Figures } from './lib/load.ts';
import { peakRssMb, cpuSeconds } from './lib/proc.ts';
import { startServer, type Server } from './lib/spawn.ts';
import { hookline, SECRET } from './lib/targets.ts';
import { header, medians, row, type BenchOptions } from './ingest.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

interface Target {
  name: string;
  env: NodeJS.ProcessEnv;
  server?: Server;
  startMs?: number;
  rounds: Figures[];
  cpu: number[];
}

/** Every receive hookline answered, from its own counter (warm-up included). */
async function received(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return [...text.matchAll(/^hookline_events_received_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

const off = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };

export async function tracingBench(o: BenchOptions): Promise<void> {
  const collector = await startServer([join(root, 'bench/servers/otlp-collector.ts')]);
  const stats = async () => (await fetch(`${collector.url}/stats`).then((r) => r.json())) as { requests: number; bytes: number; spans: number };
  const on = (protocol: string, more: NodeJS.ProcessEnv = {}) => ({ ...off, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, ...more });
  const targets: Target[] = [
    { name: '(c) hookline, tracing off', env: off, rounds: [], cpu: [] },
    { name: '(t) tracing on, OTLP http/protobuf', env: on('http/protobuf'), rounds: [], cpu: [] },
    { name: '(tj) tracing on, OTLP http/json', env: on('http/json'), rounds: [], cpu: [] },
    { name: '(t10) tracing on, 1 trace in 10 sampled', env: on('http/protobuf', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }), rounds: [], cpu: [] },
  ];
  console.log(`\n## Tracing: ingest with OpenTelemetry off vs on (receiver only, SQLite), ${o.connections} connections, median of ${o.rounds} x ${o.durationSec}s, interleaved\n`);
  try {
    for (const t of targets) {
      const started = performance.now();
      t.server = await hookline('', ['--no-worker'], { env: t.env });
      t.startMs = performance.now() - started;
    }
    const load = (t: Target, durationSec: number) => measure({ url: t.server!.url, connections: o.connections, durationSec, request: () => signedMuroEvent(SECRET) });
    for (const t of targets) await load(t, 2);
    for (let i = 0; i < o.rounds; i++) {
      for (const t of targets) {
        const before = cpuSeconds(t.server!.proc.pid!) ?? 0;
        const figures = await load(t, o.durationSec);
        t.rounds.push(figures);
        // CPU per 1 000 acknowledged events, in ms.
        t.cpu.push((((cpuSeconds(t.server!.proc.pid!) ?? 0) - before) * 1e6) / (figures.rps * o.durationSec));
      }
    }
    type Measured = Target & { figures: Figures };
    const [c, t, tj, t10] = targets.map((x) => ({ ...x, figures: medians(x.rounds) })) as [Measured, Measured, Measured, Measured];
    console.log(`${header()} ${'CPU ms/1k'.padStart(10)} ${'peak RSS'.padStart(9)} ${'start ms'.padStart(9)}`);
    for (const x of [c, t, tj, t10]) {
      console.log(`${row(x.name, x.figures)} ${median(x.cpu).toFixed(0).padStart(10)} ${`${peakRssMb(x.server!.proc.pid!).toFixed(0)} MB`.padStart(9)} ${x.startMs!.toFixed(0).padStart(9)}`);
    }
    console.log(`\nthroughput t/c: ${(t.figures.rps / c.figures.rps).toFixed(2)} (goal >= 0.90)   tj/c: ${(tj.figures.rps / c.figures.rps).toFixed(2)}   t10/c: ${(t10.figures.rps / c.figures.rps).toFixed(2)}`);
    console.log(`CPU per event t/c: ${(median(t.cpu) / median(c.cpu)).toFixed(2)}   tj/c: ${(median(tj.cpu) / median(c.cpu)).toFixed(2)}   t10/c: ${(median(t10.cpu) / median(c.cpu)).toFixed(2)}`);
    // Stopping the JSON target exports its last spans (shutdown flushes): then every receive should be there.
    const answered = await received(tj.server!.url);
    await tj.server!.stop();
    const exported = await stats();
    console.log(`collector: ${exported.requests} export requests, ${(exported.bytes / 2 ** 20).toFixed(0)} MB; the JSON target's receives ${answered}, its spans received ${exported.spans} (${((exported.spans / answered) * 100).toFixed(2)} %)`);
  } finally {
    for (const t of targets) await t.server?.stop();
    await collector.stop();
  }
}
