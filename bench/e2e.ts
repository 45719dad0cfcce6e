// Issue 11: end to end against what a team would write instead — express 5 + BullMQ 6 on Redis
// (in-memory, and with an append-only file) — and hookline on SQLite and on PostgreSQL, all in one
// run: a burst, a steady 500 events/s, a destination outage; with each server's peak memory and
// CPU per event. Every event goes through one step that POSTs it to a local sink.
import { createRequire } from 'node:module';
import { hooklinePostgres, hooklineSqlite, peerAof, peerInMemory, type Running, type Target } from './lib/e2e-targets.ts';
import { signedMuroEvent } from './lib/events.ts';
import { burst, median, paced } from './lib/load.ts';
import { cpuSeconds, peakRssMb } from './lib/proc.ts';
import { startSink, type Sink } from './lib/sink.ts';
import { SECRET } from './lib/targets.ts';

type Figures = Record<string, number>;

interface Column {
  key: string;
  label: string;
  digits?: number;
  /** A count summed over rounds (lost, duplicated, …) and not turned into a ratio. */
  total?: boolean;
}

interface Trial {
  target: Running;
  sink: Sink;
  /**
   * Waits until `n` distinct events reached the sink (or `timeoutMs` passed), ends the CPU
   * measurement there, then waits a little for late duplicates.
   */
  settle(n: number, timeoutMs: number): Promise<void>;
}

interface Scenario {
  name: string;
  title: string;
  columns: Column[];
  /** Sends events to the target; returns how many, and the scenario's own figures. */
  run(t: Trial): Promise<{ events: number; figures: Figures }>;
}

const STEADY_RATE = 500;
const fail = (message: string): never => {
  throw new Error(message);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const withSendTime = () => signedMuroEvent(SECRET, '/muro/webhook', () => ({ sent_at: Date.now() }));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * Send → arrival latencies of the events sent after the first `warmUpMs`, the most of them in flight
 * at once; the first send, last send and last arrival of all events (ms since the epoch).
 */
function arrivals(sink: Sink, warmUpMs = 0) {
  const all = [...sink.hits.values()];
  const firstSent = Math.min(...all.map((h) => h.sentAt));
  const hits = all.filter((h) => h.sentAt >= firstSent + warmUpMs);
  const latencies = hits.map((h) => h.at - h.sentAt).sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    firstSent,
    lastSent: Math.max(...all.map((h) => h.sentAt)),
    lastAt: Math.max(...all.map((h) => h.at)),
    /** Most events sent but not yet at the destination at any moment: whether a backlog built up. */
    maxInFlight: (() => {
      const steps = hits.flatMap((h) => [[h.sentAt, 1] as const, [h.at, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let now = 0;
      let max = 0;
      for (const [, d] of steps) max = Math.max(max, (now += d));
      return max;
    })(),
  };
}

const resources: Column[] = [
  { key: 'lost', label: 'lost', total: true },
  { key: 'dup', label: 'dup', total: true },
  { key: 'nack', label: 'not 2xx', total: true },
  { key: 'rss', label: 'peak RSS MB' },
  { key: 'cpu', label: 'node CPU ms/ev', digits: 2 },
  { key: 'storeCpu', label: 'store CPU ms/ev', digits: 2 },
];

function scenarios(amount: number, steadySec: number): Scenario[] {
  const blast: Scenario = {
    name: 'burst',
    title: `burst: ${amount} signed events at once over 50 keep-alive connections`,
    columns: [{ key: 'e2e', label: 'e2e ev/s' }, { key: 'ingest', label: 'ingest ev/s' }, ...resources],
    run: async ({ target, sink, settle }) => {
      const acks = await burst({ url: target.url, connections: 50, amount, request: withSendTime });
      await settle(amount, Math.max(60_000, amount * 20));
      const a = arrivals(sink);
      return { events: amount, figures: { e2e: (sink.hits.size / (a.lastAt - a.firstSent)) * 1000, ingest: (amount / acks.ms) * 1000, nack: acks.failed } };
    },
  };

  const steadyAmount = Math.min(amount, STEADY_RATE * steadySec);
  const steady: Scenario = {
    name: 'steady',
    title: `steady: ${steadyAmount} events at ${STEADY_RATE}/s, evenly spaced (${(steadyAmount / STEADY_RATE).toFixed(0)} s); send → destination latency after the first second (warm-up); ` +
      `"in flight" = most events sent and not yet delivered at once, "drain" = last delivery after the last send`,
    columns: [
      { key: 'p50', label: 'p50 ms' },
      { key: 'p99', label: 'p99 ms' },
      { key: 'inFlight', label: 'in flight' },
      { key: 'drain', label: 'drain ms' },
      ...resources,
    ],
    run: async ({ target, sink, settle }) => {
      const acks = await paced({ url: target.url, rate: STEADY_RATE, amount: steadyAmount, request: withSendTime });
      await settle(steadyAmount, 120_000);
      const a = arrivals(sink, 1000);
      return { events: steadyAmount, figures: { p50: a.p50, p99: a.p99, inFlight: a.maxInFlight, drain: a.lastAt - a.lastSent, nack: acks.errors + acks.non2xx } };
    },
  };

  const outageAmount = Math.min(amount, 5000);
  const outage: Scenario = {
    name: 'outage',
    title: `outage: ${outageAmount} events at ${STEADY_RATE}/s; the destination answers 503 from 1 s to 6 s; ` +
      `retries 1, 2, 4, 8, 16 s on both sides; "refused" = attempts spent on the outage, "drain" = last delivery after it ended`,
    columns: [{ key: 'refused', label: 'refused' }, { key: 'drain', label: 'drain s', digits: 1 }, ...resources],
    run: async ({ target, sink, settle }) => {
      const sending = paced({ url: target.url, rate: STEADY_RATE, amount: outageAmount, request: withSendTime });
      await sleep(1000);
      sink.setDown(true);
      await sleep(5000);
      sink.setDown(false);
      const upAt = Date.now();
      const acks = await sending;
      await settle(outageAmount, 120_000);
      return { events: outageAmount, figures: { refused: sink.refused, drain: (arrivals(sink).lastAt - upAt) / 1000, nack: acks.errors + acks.non2xx } };
    },
  };
  return [blast, steady, outage];
}

/** What stops the processes of the trial under way, should the bench be interrupted. */
const running = new Set<() => Promise<void>>();
const onSignal = (signal: NodeJS.Signals) => {
  console.error(`\n${signal}: stopping the servers, Redis and dropping the databases of this run…`);
  void Promise.allSettled([...running].map((stop) => stop())).then(() => process.exit(130));
};

/** One scenario on one freshly started target with a fresh sink: its figures plus lost, dup, memory and CPU per event. */
async function trial(scenario: Scenario, target: Target): Promise<Figures> {
  const sink = await startSink();
  let server: Running | undefined;
  const stop = async () => {
    await server?.stop();
    await sink.stop();
  };
  running.add(stop);
  try {
    server = await target.start(`${sink.url}/hook`);
    const live = server;
    const cpu = () => ({ node: cpuSeconds(live.pid) ?? NaN, store: live.storeCpu?.() ?? NaN });
    const before = cpu();
    let after = before;
    let wanted = 0;
    const settle = async (n: number, timeoutMs: number) => {
      wanted = n;
      const all = await sink.until(n, timeoutMs, live.died);
      after = cpu();
      if (!all) console.error(`  ${scenario.name} on ${target.name}: only ${sink.hits.size} of ${n} events reached the destination within ${timeoutMs / 1000} s`);
      await Promise.race([sleep(500), live.died]); // late duplicates
    };
    const { events, figures } = await scenario.run({ target: live, sink, settle });
    return {
      ...figures,
      lost: wanted - sink.hits.size,
      dup: sink.duplicates,
      rss: peakRssMb(live.pid),
      cpu: ((after.node - before.node) / events) * 1000,
      storeCpu: ((after.store - before.store) / events) * 1000,
    };
  } finally {
    await stop();
    running.delete(stop);
  }
}

const fmt = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? '—' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

function table(scenario: Scenario, names: string[], results: Map<string, Figures[]>, failures: Map<string, string[]>) {
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const cell = (c: Column) => Math.max(c.label.length, 8) + 2;
  const line = (name: string, cells: string[]) => name.padEnd(width) + cells.map((s, i) => s.padStart(cell(scenario.columns[i]!))).join('');
  const summary = (name: string): Figures | undefined => {
    const rounds = results.get(name) ?? [];
    if (rounds.length === 0) return undefined;
    const figures: Figures = {};
    for (const c of scenario.columns) {
      const values = rounds.map((r) => r[c.key]!).filter((v) => !Number.isNaN(v));
      figures[c.key] = values.length === 0 ? NaN : c.total ? values.reduce((a, b) => a + b, 0) : median(values);
    }
    return figures;
  };
  console.log(`\n### ${scenario.title}\n`);
  console.log(line('', scenario.columns.map((c) => c.label)));
  for (const name of names) {
    const s = summary(name);
    const failed = failures.get(name)?.length ?? 0;
    const note = failed ? `   (${failed} round(s) failed: ${failures.get(name)![0]})` : '';
    console.log(s ? line(name, scenario.columns.map((c) => fmt(s[c.key], c.digits))) + note : `${name.padEnd(width)}failed: ${failures.get(name)?.[0] ?? 'not run'}`);
  }
  const base = summary(names[0]!);
  if (!base) return;
  console.log(`ratio to ${names[0]}:`);
  for (const name of names.slice(1)) {
    const s = summary(name);
    if (s) console.log(line(`  ${name}`, scenario.columns.map((c) => (c.total ? '' : fmt(s[c.key]! / base[c.key]!, 2)))));
  }
}

export async function e2eBench(o: { rounds: number }): Promise<void> {
  const amount = Number(process.env.BENCH_E2E_EVENTS ?? 10_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2) || o.rounds;
  const steadySec = Number(process.env.BENCH_STEADY_SEC ?? 15);
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const bullmq = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
  // BENCH_E2E_TARGETS / BENCH_E2E_SCENARIOS (comma-separated keys) run a subset, e.g. while working on one.
  const chosen = (env: string | undefined, all: string[]) => (env ? env.split(',').filter((k) => all.includes(k) || fail(`unknown key "${k}"; one of ${all.join(', ')}`)) : all);
  const targets = (
    [
      ['peer-mem', 'peer, Redis in-memory', peerInMemory(process.env.BENCH_REDIS_URL)],
      ['peer-aof', 'peer, Redis AOF', peerAof()],
      ['sqlite', 'hookline SQLite', hooklineSqlite()],
      ['postgres', 'hookline PostgreSQL', hooklinePostgres(pgUrl)],
    ] as const
  ).filter(([key], _, all) => chosen(process.env.BENCH_E2E_TARGETS, all.map(([k]) => k)).includes(key));
  const names = targets.map(([, name]) => name);
  const all = scenarios(amount, steadySec);
  const list = all.filter((s) => chosen(process.env.BENCH_E2E_SCENARIOS, all.map((x) => x.name)).includes(s.name));

  console.log(`\n## End to end: hookline against express 5 + BullMQ ${bullmq} (median of ${rounds} round(s), all in this run)\n`);
  console.log('Each event: signed muro message.created in, one step that POSTs { id, sent_at } to a local sink (a child process).');
  console.log('peer = bench/servers/bullmq-peer.ts: express 5, HMAC over the raw body, queue.add with jobId = body id, answer after add;');
  console.log('       a Worker (concurrency 32) in the same process POSTs with fetch, 6 attempts, exponential backoff from 1 s.');
  console.log(`       Redis in-memory: ${process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'} (shared, no persistence; a queue name per trial, its keys deleted after).`);
  console.log('       Redis AOF: a redis-server of the bench\'s own, appendonly yes, appendfsync everysec, no RDB snapshots.');
  console.log(`hookline = \`hookline serve\` (receiver + worker, defaults: concurrency 32, per_connection 16); PostgreSQL: a fresh database on ${pgUrl.replace(/\/\/[^@]*@/, '//…@')}, dropped after.`);
  console.log('CPU ms/ev: utime+stime from /proc of the node server; store = the redis-server process (the shared one also serves others),');
  console.log('           or the PostgreSQL backends connected to the trial\'s database (sampled every 0.5 s; not the WAL writer or checkpointer).');
  console.log('Every trial starts a fresh server, store and sink; a round runs every scenario on every target in turn.');

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results = new Map<string, Map<string, Figures[]>>(list.map((s) => [s.name, new Map()]));
  const failures = new Map<string, Map<string, string[]>>(list.map((s) => [s.name, new Map()]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of list) {
        for (const [, name, target] of targets) {
          const at = Date.now();
          try {
            const figures = await trial(scenario, target);
            const list = results.get(scenario.name)!;
            list.set(name, [...(list.get(name) ?? []), figures]);
            const shown = scenario.columns.filter((c) => !['rss', 'cpu', 'storeCpu'].includes(c.key)).map((c) => `${c.label} ${fmt(figures[c.key], c.digits)}`);
            console.error(`  [round ${round}/${rounds}] ${scenario.name}, ${name}: ${shown.join(', ')} (${((Date.now() - at) / 1000).toFixed(0)} s)`);
          } catch (err) {
            const message = (err as Error).message.split('\n')[0]!;
            const f = failures.get(scenario.name)!;
            f.set(name, [...(f.get(name) ?? []), message]);
            console.error(`  [round ${round}/${rounds}] ${scenario.name}, ${name}: failed: ${message}`);
          }
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const scenario of list) table(scenario, names, results.get(scenario.name)!, failures.get(scenario.name)!);
}
