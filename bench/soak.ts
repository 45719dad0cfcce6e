// Issue 13: the soak. N signed events (default 300 000) at a steady rate through a recipe with one
// `log` step, on SQLite and on PostgreSQL, with a short retention in real time (2 minutes): the
// database size every N/20 events (it must level off: the last third grows < 10 %), acknowledgement
// p99 while the pruner runs against before it had anything to prune, and RSS at the end vs the start.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parseDuration } from '../src/config/units.ts';
import { signedMuroEvent } from './lib/events.ts';
import { hookline, SECRET, sql } from './lib/targets.ts';

const recipe = `name: soak
on: muro/message.created
steps:
  - id: note
    log: { message: "soak {{ id }}", level: debug }
`;

interface Size {
  events: number;
  bytes: number;
  free: number;
  wal: number;
}
interface Pass {
  finishedAt: number;
  tookMs: number;
  events: number;
}
interface Probe {
  size(): Promise<Omit<Size, 'events'>>;
  passes(): Promise<Pass[]>;
  close(): Promise<void>;
}

const MB = 2 ** 20;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: Float64Array | number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const p99 = (values: number[]) => percentile(Float64Array.from(values).sort(), 99);
const rssMb = (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

function sqliteProbe(file: string): Probe {
  let db: Database.Database | undefined;
  const open = () => (db ??= new Database(file, { readonly: true, fileMustExist: true }));
  return {
    size: async () => {
      const d = open();
      const page = d.pragma('page_size', { simple: true }) as number;
      let wal = 0;
      try {
        wal = statSync(`${file}-wal`).size;
      } catch {}
      return { bytes: (d.pragma('page_count', { simple: true }) as number) * page, free: (d.pragma('freelist_count', { simple: true }) as number) * page, wal };
    },
    passes: async () => {
      const row = open().prepare('SELECT finished_at, took_ms, counts FROM prune_log WHERE id = 1').get() as { finished_at: number; took_ms: number; counts: string } | undefined;
      return row ? [{ finishedAt: row.finished_at, tookMs: row.took_ms, events: JSON.parse(row.counts).events }] : [];
    },
    close: async () => {
      db?.close();
    },
  };
}

async function postgresProbe(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    size: async () => ({ bytes: Number((await client.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b), free: 0, wal: 0 }),
    passes: async () => {
      const { rows } = await client.query('SELECT finished_at, took_ms, counts FROM prune_log WHERE id = 1').catch(() => ({ rows: [] as any[] }));
      return rows.map((r) => ({ finishedAt: Number(r.finished_at), tookMs: Number(r.took_ms), events: JSON.parse(r.counts).events }));
    },
    close: () => client.end(),
  };
}

interface Result {
  sizes: Size[];
  before: number[];
  pruning: number[];
  inPass: number[];
  outside: number[];
  passes: Pass[];
  rssStart: number;
  rssEnd: number;
  peak: number;
  failed: number;
  seconds: number;
}

async function soak(backend: 'sqlite' | 'postgres', o: { amount: number; rate: number; retention: string; pgUrl: string }): Promise<Result> {
  let storeUrl: string | undefined;
  let drop = async () => {};
  if (backend === 'postgres') {
    const database = `hl_bench_soak_${process.pid}_${randomBytes(3).toString('hex')}`;
    await sql(o.pgUrl, `CREATE DATABASE ${database}`);
    const u = new URL(o.pgUrl);
    u.pathname = `/${database}`;
    storeUrl = u.toString();
    drop = () => sql(o.pgUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((err: Error) => console.error(`could not drop ${database}: ${err.message}`));
  }
  const server = await hookline(`retention: { events: ${o.retention}, transcripts: ${o.retention}, attachments: ${o.retention} }\n`, [], {
    storeUrl,
    // Steady state: dedup records expire too (24 h by default, longer than the run).
    muroKeys: `dedup_ttl: ${o.retention}`,
    recipes: { 'soak.yaml': recipe },
  }).catch(async (err: unknown) => {
    await drop();
    throw err;
  });
  const probe = backend === 'sqlite' ? sqliteProbe(join(server.dir, 'hookline.db')) : await postgresProbe(storeUrl!);
  const pid = server.proc.pid!;
  const target = new URL(server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const sentAt = new Float64Array(o.amount);
  const latency = new Float64Array(o.amount).fill(NaN);
  const sizes: Size[] = [];
  const passes = new Map<number, Pass>();
  let failed = 0;
  let inFlight = 0;
  let rssStart = NaN;
  const every = Math.max(1, Math.floor(o.amount / 20));
  const polling = setInterval(() => {
    void probe.passes().then(
      (list) => list.forEach((p) => passes.set(p.finishedAt, p)),
      () => {},
    );
  }, 1000);
  const sample = async (events: number) => {
    const s = { events, ...(await probe.size()) };
    sizes.push(s);
    console.error(
      `  ${backend}: ${String(events).padStart(7)} events sent, database ${(s.bytes / MB).toFixed(1)} MB` +
        `${backend === 'sqlite' ? ` (free ${(s.free / MB).toFixed(1)} MB, WAL ${(s.wal / MB).toFixed(1)} MB)` : ''}, RSS ${rssMb(pid, 'VmRSS').toFixed(0)} MB`,
    );
  };
  const start = now();
  try {
    await Promise.race([
      server.died,
      (async () => {
        for (let i = 0; i < o.amount; i++) {
          const due = start + (i * 1000) / o.rate;
          const wait = due - now();
          if (wait > 1) await sleep(wait);
          const r = signedMuroEvent(SECRET);
          const t = now();
          sentAt[i] = t;
          inFlight++;
          const req = request({ host: target.hostname, port: target.port, path: r.path, method: 'POST', headers: r.headers, agent }, (res) => {
            res.resume();
            res.on('end', () => {
              inFlight--;
              latency[i] = now() - t;
              if (res.statusCode !== 200) failed++;
            });
          });
          req.on('error', () => {
            inFlight--;
            failed++;
          });
          req.end(r.body);
          if (i === every) rssStart = rssMb(pid, 'VmRSS');
          if ((i + 1) % every === 0) await sample(i + 1);
        }
        while (inFlight > 0) await sleep(50);
      })(),
    ]);
    const seconds = (now() - start) / 1000;
    // One more pass may finish meanwhile: let the poll see it.
    await sleep(1500);
    const rssEnd = rssMb(pid, 'VmRSS');
    const peak = rssMb(pid, 'VmHWM');
    const list = [...passes.values()].sort((a, b) => a.finishedAt - b.finishedAt);
    const firstDeleting = list.find((p) => p.events > 0);
    const pruningFrom = firstDeleting ? firstDeleting.finishedAt - firstDeleting.tookMs : Infinity;
    const windows = list.filter((p) => p.events > 0).map((p) => [p.finishedAt - p.tookMs, p.finishedAt] as const);
    const before: number[] = [];
    const pruning: number[] = [];
    const inPass: number[] = [];
    const outside: number[] = [];
    for (let i = 0; i < o.amount; i++) {
      const l = latency[i]!;
      if (Number.isNaN(l) || sentAt[i]! < start + 5_000) continue; // warm-up
      if (sentAt[i]! < pruningFrom) before.push(l);
      else pruning.push(l);
      if (windows.some(([a, b]) => sentAt[i]! >= a && sentAt[i]! <= b)) inPass.push(l);
      else if (sentAt[i]! >= pruningFrom) outside.push(l);
    }
    return { sizes, before, pruning, inPass, outside, passes: list, rssStart, rssEnd, peak, failed, seconds };
  } finally {
    clearInterval(polling);
    agent.destroy();
    await probe.close().catch(() => {});
    await server.stop();
    await drop();
  }
}

export async function soakBench(): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith('--soak-events='));
  const amount = Number(arg?.slice('--soak-events='.length) ?? process.env.BENCH_SOAK_EVENTS ?? 300_000);
  const retention = process.env.BENCH_SOAK_RETENTION ?? '2m';
  const retentionMs = parseDuration(retention) ?? 120_000;
  // Long enough that retention is reached in the first third of the run, whatever N.
  const rate = Number(process.env.BENCH_SOAK_RATE ?? Math.ceil(amount / ((3.5 * retentionMs) / 1000)));
  const pgUrl = process.env.BENCH_PG_URL ?? process.env.HOOKLINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const backends = (process.env.BENCH_SOAK_BACKENDS ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
  console.log(`\n## Soak: ${amount} events at ${rate}/s (${((amount / rate) / 60).toFixed(1)} min), retention ${retention} (events, transcripts, attachments) and muro dedup_ttl ${retention}, real time\n`);
  console.log('Each event: a signed muro message.created, one run with one `log` step (its run, step, attempt and transcript message stored).');
  console.log(`\`hookline serve\` with its defaults otherwise; the pruner runs every retention/6, at most every minute (here ${Math.min(60, retentionMs / 6000)} s), in adaptive batches.`);
  console.log('"before" = acks sent after a 5 s warm-up and before the first pass that deleted anything; "pruning" = every ack after;');
  console.log('"in a pass" = acks sent while a deleting pass ran, against those sent between passes (same database size, same machine load). Database: SQLite page_count*page_size (free pages and WAL beside), PostgreSQL pg_database_size.');
  for (const backend of backends) {
    const at = Date.now();
    let r: Result;
    try {
      r = await soak(backend, { amount, rate, retention, pgUrl });
    } catch (err) {
      console.log(`\n${backend}: failed: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    const third = r.sizes.find((s) => s.events >= Math.floor((2 * amount) / 3)) ?? r.sizes.at(-1)!;
    const last = r.sizes.filter((s) => s.events >= third.events);
    const growth = Math.max(...last.map((s) => s.bytes)) / third.bytes - 1;
    console.log(`\n### ${backend} (${((Date.now() - at) / 60_000).toFixed(1)} min, ${r.failed} not acknowledged with 200)`);
    console.log('events sent  database MB' + (backend === 'sqlite' ? '  free MB  WAL MB' : ''));
    for (const s of r.sizes) console.log(`${String(s.events).padStart(11)}  ${(s.bytes / MB).toFixed(1).padStart(11)}` + (backend === 'sqlite' ? `  ${(s.free / MB).toFixed(1).padStart(7)}  ${(s.wal / MB).toFixed(1).padStart(6)}` : ''));
    console.log(`last third (from ${third.events} events): grew ${(growth * 100).toFixed(1)} % — ${growth < 0.1 ? 'levels off (< 10 %)' : 'DOES NOT level off (>= 10 %)'}`);
    const deleting = r.passes.filter((p) => p.events > 0);
    const took = deleting.map((p) => p.tookMs).sort((a, b) => a - b);
    console.log(`prune passes that deleted: ${deleting.length}, median ${percentile(took, 50)} ms, longest ${took.at(-1) ?? NaN} ms (a pass is many short batches)`);
    const [b, p, q, out] = [p99(r.before), p99(r.pruning), p99(r.inPass), p99(r.outside)];
    console.log(`ack p99: before pruning ${b.toFixed(1)} ms (${r.before.length} acks), pruning ${p.toFixed(1)} ms (${r.pruning.length}); ratio pruning/before ${(p / b).toFixed(2)}`);
    console.log(`         same phase, in a pass ${q.toFixed(1)} ms (${r.inPass.length}) vs between passes ${out.toFixed(1)} ms (${r.outside.length}): ratio ${(q / out).toFixed(2)}`);
    console.log(`RSS: ${r.rssStart.toFixed(0)} MB after the first ${Math.floor(amount / 20)} events, ${r.rssEnd.toFixed(0)} MB at the end (ratio ${(r.rssEnd / r.rssStart).toFixed(2)}), peak ${r.peak.toFixed(0)} MB`);
  }
}
