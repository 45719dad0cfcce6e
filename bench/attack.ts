// Issue 9: the receiving path under a memory attack. 40 connections send 24 MB bodies at once and
// hold the socket: unsigned, or with a forged, well-formed signature header, and with a body that
// completes or one announced 64 KB longer than sent (so that only the read timeout ends it), while
// correctly signed events flow at a steady rate.
// Measured: the server's peak RSS, the legitimate acks' p99 against the same run without the
// attack, and how long hookline takes to answer and to close each held socket.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedMuroEvent } from './lib/events.ts';
import { median, paced, type Figures } from './lib/load.ts';
import { hookline, SECRET } from './lib/targets.ts';
import { ackHistogram, quantile, type BenchOptions } from './ingest.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const MB = 1024 * 1024;
const connections = 40;
const bytes = 24 * MB;
/** Short, so that a run shows held sockets being closed; the default is 30 s. */
const readTimeoutSec = 5;
/** The default server.body_budget. */
const budgetMb = 100;

interface Held {
  answeredMs: number | undefined;
  /** Undefined: still open when the run ended. */
  closedMs: number | undefined;
  status: number | undefined;
}

interface Outcome {
  legit: Figures;
  serverP99: number;
  peakRssMb: number;
  baseRssMb: number;
  held: Held[];
}

/** Resident memory of a process, from /proc (Linux): now, and the high-water mark of its life. */
function rss(pid: number): { nowMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { nowMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/**
 * The attacker runs in a process of its own at the lowest priority: on the bench machine it shares
 * the cores with the server and the load generator, where a real attacker's CPU is elsewhere.
 */
async function startAttacker(): Promise<ChildProcess> {
  const proc = fork(join(root, 'bench/servers/attacker.ts'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve) => proc.once('message', () => resolve()));
  if (process.env.BENCH_ATTACKER_NICE !== '0') setPriority(proc.pid!, 19);
  return proc;
}

type Attack = { forged: boolean; complete: boolean } | undefined;

async function scenario(attack: Attack, rate: number, seconds: number): Promise<Outcome> {
  const server = await hookline('', ['--no-worker'], { serverKeys: `read_timeout: ${readTimeoutSec}s` });
  const attacker = attack ? await startAttacker() : undefined;
  try {
    const request = () => signedMuroEvent(SECRET);
    await paced({ url: server.url, rate, amount: rate * 2, request });
    const baseRssMb = rss(server.proc.pid!).nowMb;
    const before = await ackHistogram(server.url);
    const report = new Promise<Held[]>((resolve) => attacker?.once('message', (m: { held: Held[] }) => resolve(m.held)));
    attacker?.send({ start: { url: server.url, connections, bytes, ...attack } });
    const legit = await paced({ url: server.url, rate, amount: rate * seconds, request });
    const after = await ackHistogram(server.url);
    if (attacker?.connected) attacker.send({ stop: true }); // else it has reported already: every socket was closed
    const held = attacker ? await report : [];
    return { legit, serverP99: after ? quantile(after, before, 0.99) : NaN, peakRssMb: rss(server.proc.pid!).peakMb, baseRssMb, held };
  } finally {
    attacker?.kill();
    await server.stop();
  }
}

const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);

/** When a held socket was answered or closed, whichever came first (undefined: neither). */
const settled = (h: Held) => (h.answeredMs === undefined ? h.closedMs : h.closedMs === undefined ? h.answeredMs : Math.min(h.answeredMs, h.closedMs));

export async function attackBench(o: BenchOptions): Promise<void> {
  const rate = Number(process.env.BENCH_ATTACK_RATE ?? 500);
  const seconds = Math.max(o.durationSec, readTimeoutSec + 3);
  console.log(`\n## Attack: ${connections} connections send ${bytes / MB} MB bodies at once and hold the socket, while ${rate} signed events/s flow for ${seconds} s`);
  console.log(
    `hookline serve --no-worker, SQLite; server.read_timeout ${readTimeoutSec}s (short for the bench; default 30s), server.body_budget ${budgetMb}mb (default).`,
  );
  console.log(`${o.rounds} rounds of every scenario, interleaved, each on a fresh server: median p99, highest RSS and times.`);
  console.log(`The attacker is a process of its own${process.env.BENCH_ATTACKER_NICE === '0' ? '' : ' at nice 19 (BENCH_ATTACKER_NICE=0: at normal priority)'}.\n`);
  const attacks: Array<[string, Attack]> = [
    ['none', undefined],
    ['unsigned, 24 MB sent', { forged: false, complete: true }],
    ['forged header, 24 MB sent', { forged: true, complete: true }],
    ['forged header, 24 of 24.06 MB sent', { forged: true, complete: false }],
  ];
  const runs = attacks.map((): Outcome[] => []);
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, [, attack]] of attacks.entries()) runs[i]!.push(await scenario(attack, rate, seconds));
  }
  const widths = [36, 9, 9, 8, 11, 9, 23];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join(' ');
  console.log(line(['attack', 'acks p99', 'own p99', 'non-2xx', 'RSS before', 'RSS peak', 'all answered or closed']));
  const summaries = attacks.map(([name], i) => {
    const rounds = runs[i]!;
    const held = rounds.flatMap((r) => r.held);
    const times = held.map(settled);
    const summary = {
      name,
      p99: median(rounds.map((r) => r.legit.p99)),
      serverP99: median(rounds.map((r) => r.serverP99)),
      failed: rounds.reduce((n, r) => n + r.legit.non2xx + r.legit.errors, 0),
      baseRssMb: max(rounds.map((r) => r.baseRssMb)),
      peakRssMb: max(rounds.map((r) => r.peakRssMb)),
      settledSec: times.includes(undefined) ? undefined : max(times as number[]) / 1000,
    };
    const open = times.filter((t) => t === undefined).length;
    const all = held.length === 0 ? '—' : summary.settledSec === undefined ? `no: ${open} open` : `within ${summary.settledSec.toFixed(2)} s`;
    const mb = (n: number) => `${n.toFixed(0)} MB`;
    console.log(line([name, `${summary.p99.toFixed(1)} ms`, `≤ ${summary.serverP99} ms`, String(summary.failed), mb(summary.baseRssMb), mb(summary.peakRssMb), all]));
    const outcomes = new Map<string, number>();
    const label = (h: Held) => `${h.status ?? 'reset before the answer was read'}${h.closedMs === undefined ? ' (then kept alive)' : ''}`;
    for (const h of held) outcomes.set(label(h), (outcomes.get(label(h)) ?? 0) + 1);
    if (outcomes.size) console.log(`${''.padEnd(36)} ${[...outcomes].map(([s, n]) => `${n} × ${s}`).join(', ')}`);
    return summary;
  });
  const base = summaries[0]!;
  console.log('');
  for (const s of summaries.slice(1)) {
    console.log(
      `${s.name}: acks p99 ${(s.p99 / base.p99).toFixed(2)}× the run without attack (goal ≤ 2); ` +
        `peak RSS ${s.peakRssMb.toFixed(0)} MB (goal < budget + 200 = ${budgetMb + 200} MB), ${(s.peakRssMb - base.peakRssMb).toFixed(0)} MB over the run without attack`,
    );
  }
}
