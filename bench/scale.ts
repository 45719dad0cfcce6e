// Scaling out on PostgreSQL: ingest on PostgreSQL against SQLite in the same run, two instances on
// one PostgreSQL against one, and where the time goes: commits and WAL flushes per event, CPU of each
// process, and what the store's group commit gains over a commit per event. Needs a PostgreSQL:
// HOOKLINE_BENCH_PG_URL, else HOOKLINE_TEST_PG_URL; each target gets a schema of its own, dropped after.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { lockKey } from '../src/store/postgres/db.ts';
import { groupCommit, receiveSql } from '../src/store/postgres/inbox.ts';
import { openPostgresStore } from '../src/store/postgres/index.ts';
import type { NewEvent } from '../src/store/types.ts';
import { header, medians, row, type BenchOptions } from './ingest.ts';
import { signedMuroEvent } from './lib/events.ts';
import { measure, median, type Figures } from './lib/load.ts';
import type { Server } from './lib/spawn.ts';
import { hookline, SECRET } from './lib/targets.ts';

const pgUrl = process.env.HOOKLINE_BENCH_PG_URL ?? process.env.HOOKLINE_TEST_PG_URL;
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = pgUrl!): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A schema of its own; `url` connects into it. */
async function schema(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `hl_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await sql(`CREATE SCHEMA ${name}`);
  const u = new URL(pgUrl!);
  u.searchParams.set('options', `-c search_path=${name}`);
  return { name, url: u.toString(), drop: async () => void (await sql(`DROP SCHEMA IF EXISTS ${name} CASCADE`)) };
}

/** Server-wide counters: commits of this database, WAL records and syncs (fsyncs) of the server. */
async function pgCounters() {
  const [db] = await sql<{ commits: string }>(`SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()`);
  const [wal] = await sql<{ syncs: string; records: string }>(`SELECT wal_sync AS syncs, wal_records AS records FROM pg_stat_wal`);
  return { commits: Number(db!.commits), syncs: Number(wal!.syncs), records: Number(wal!.records) };
}

/** CPU seconds used so far by these pids, and by every process named postgres. */
function cpu(pids: number[]): { hookline: number; postgres: number; bench: number } {
  const of = (pid: number | string) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / TICK };
    } catch {
      return { comm: '', seconds: 0 };
    }
  };
  let postgres = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = of(entry);
    if (p.comm === 'postgres') postgres += p.seconds;
  }
  const usage = process.cpuUsage();
  return { hookline: pids.reduce((n, pid) => n + of(pid).seconds, 0), postgres, bench: (usage.user + usage.system) / 1e6 };
}

interface Measured extends Figures {
  /** Per 1000 acknowledged events: commits, WAL fsyncs, and CPU ms of hookline, PostgreSQL and the load generator. */
  per1000?: { commits: number; syncs: number; hooklineMs: number; postgresMs: number; benchMs: number };
  /** Share of the machine's cores busy during the measured rounds. */
  busy?: number;
}

/**
 * Warm-up, then `rounds` rounds; with several servers the load is split between them (a load
 * balancer's round-robin: each gets half the connections) and their rates add up.
 */
async function run(servers: Array<Server>, o: BenchOptions, onPg: boolean): Promise<Measured> {
  const request = () => signedMuroEvent(SECRET);
  const each = Math.max(1, Math.floor(o.connections / servers.length));
  const once = async (durationSec: number) => {
    const parts = await Promise.all(servers.map((s) => measure({ url: s.url, connections: each, durationSec, request })));
    return {
      rps: parts.reduce((n, p) => n + p.rps, 0),
      p50: Math.max(...parts.map((p) => p.p50)),
      p99: Math.max(...parts.map((p) => p.p99)),
      errors: parts.reduce((n, p) => n + p.errors, 0),
      non2xx: parts.reduce((n, p) => n + p.non2xx, 0),
    };
  };
  await once(2);
  const pids = servers.map((s) => s.proc.pid!);
  const before = { cpu: cpu(pids), pg: onPg ? await pgCounters() : undefined, at: performance.now() };
  const rounds: Figures[] = [];
  for (let i = 0; i < o.rounds; i++) rounds.push(await once(o.durationSec));
  const after = { cpu: cpu(pids), pg: onPg ? await pgCounters() : undefined, at: performance.now() };
  const result: Measured = medians(rounds);
  const events = rounds.reduce((n, r) => n + r.rps * o.durationSec, 0);
  const per = (x: number) => (x / events) * 1000;
  const seconds = (after.at - before.at) / 1000;
  const used = after.cpu.hookline - before.cpu.hookline + (after.cpu.postgres - before.cpu.postgres) + (after.cpu.bench - before.cpu.bench);
  result.busy = used / seconds / (await import('node:os')).cpus().length;
  result.per1000 = {
    commits: before.pg && after.pg ? per(after.pg.commits - before.pg.commits) : NaN,
    syncs: before.pg && after.pg ? per(after.pg.syncs - before.pg.syncs) : NaN,
    hooklineMs: per((after.cpu.hookline - before.cpu.hookline) * 1000),
    postgresMs: per((after.cpu.postgres - before.cpu.postgres) * 1000),
    benchMs: per((after.cpu.bench - before.cpu.bench) * 1000),
  };
  return result;
}

const detail = (m: Measured) =>
  `commits ${m.per1000!.commits.toFixed(0).padStart(5)}  WAL syncs ${m.per1000!.syncs.toFixed(0).padStart(5)}  ` +
  `CPU ms: hookline ${m.per1000!.hooklineMs.toFixed(0).padStart(4)}  postgres ${m.per1000!.postgresMs.toFixed(0).padStart(4)}  load ${m.per1000!.benchMs.toFixed(0).padStart(4)}  ` +
  `machine busy ${(m.busy! * 100).toFixed(0)}%`;

/** `hookline serve --no-worker` on a fresh schema (or SQLite), or `n` of them sharing one schema. */
async function target(kind: 'sqlite' | 'postgres', n: number, o: BenchOptions): Promise<Measured> {
  const s = kind === 'postgres' ? await schema() : undefined;
  const servers: Array<Server & { dir: string }> = [];
  try {
    // One after the other: the first migrates the fresh schema.
    for (let i = 0; i < n; i++) servers.push(await hookline('', ['--no-worker'], { storeUrl: s?.url }));
    return await run(servers, o, kind === 'postgres');
  } finally {
    for (const server of servers) await server.stop();
    await s?.drop();
  }
}

type StoreMode = 'per-event' | 'per-event-no-notify' | 'per-event-async' | 'group';

/**
 * The store alone, no HTTP: 50 callers storing events as fast as they are answered, through the
 * shipped group commit, and through a commit per event (the receive statement for one event, 10
 * connections: the naive receiver). Variants of the latter show what each commit waits for: without
 * its NOTIFY (PostgreSQL serialises the commits of notifying transactions on a database-wide lock),
 * and with synchronous_commit=off (no wait for the WAL flush).
 */
async function storeOnly(mode: StoreMode, seconds: number): Promise<{ rate: number; commitsPerSec: number; perCommit: number }> {
  const s = await schema();
  try {
    const store = await openPostgresStore(s.url, { poolSize: 2 });
    await store.close();
    const u = new URL(s.url);
    if (mode === 'per-event-async') u.searchParams.set('options', `${u.searchParams.get('options')} -c synchronous_commit=off`);
    const pool = new pg.Pool({ connectionString: u.toString(), max: 10 });
    const body = signedMuroEvent(SECRET).body;
    let n = 0;
    const event = (): NewEvent => ({ source: 'muro', eventId: `evt_${++n}_${process.pid}`, type: 'message.created', receivedAt: Date.now(), headers: {}, body, test: false });
    // The shipped statement wakes the other instances after its commit; the naive receiver notifies inside it.
    const text = mode === 'per-event-no-notify' ? receiveSql : receiveSql.replace('SELECT i.n, stored.seq FROM', "SELECT i.n, stored.seq, pg_notify('hookline', 'bench') FROM");
    const one = async (e: NewEvent) => {
      await pool.query(text, [[e.source], [e.eventId], [e.type], [e.receivedAt], [e.receivedAt + 86_400_000], ['{}'], [e.body], [false], ...lockKey('order', s.name)]);
    };
    const group = groupCommit({ pool, schema: s.name, wake: { events: 'bench', runs: 'bench' }, notify: () => {} }, 2, 30_000);
    const receive = mode === 'group' ? (e: NewEvent) => group(e, 86_400_000) : one;
    const before = await pgCounters();
    const until = performance.now() + seconds * 1000;
    let stored = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (performance.now() < until) {
          await receive(event());
          stored++;
        }
      }),
    );
    const elapsed = seconds + Math.max(0, performance.now() - until) / 1000;
    await pool.end(); // backends flush their statistics as they exit
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await pgCounters();
    const commits = after.commits - before.commits;
    return { rate: stored / elapsed, commitsPerSec: commits / elapsed, perCommit: stored / Math.max(1, commits) };
  } finally {
    await s.drop();
  }
}

export async function scaleBench(o: BenchOptions): Promise<void> {
  console.log(`\n## Scale out: PostgreSQL against SQLite, two instances against one (receivers only, --no-worker), median of ${o.rounds} x ${o.durationSec}s\n`);
  if (!pgUrl) {
    console.log('skipped: set HOOKLINE_BENCH_PG_URL (or HOOKLINE_TEST_PG_URL) to a PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/test');
    return;
  }
  const [settings] = await sql<{ v: string; sc: string; fs: string; ws: string }>(
    `SELECT version() AS v, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs, current_setting('wal_sync_method') AS ws`,
  );
  console.log(`${settings!.v.split(' on ')[0]}, synchronous_commit=${settings!.sc}, fsync=${settings!.fs}, wal_sync_method=${settings!.ws}, same machine\n`);
  console.log(header());
  const sqlite = await target('sqlite', 1, o);
  console.log(row('(s) hookline, SQLite, 1 instance', sqlite));
  const one = await target('postgres', 1, o);
  console.log(row('(p1) hookline, PostgreSQL, 1 instance', one));
  const two = await target('postgres', 2, o);
  console.log(row('(p2) hookline, PostgreSQL, 2 instances', two));
  // More senders at once: bigger batches per commit. Does throughput follow (latency-bound) or not (saturated)?
  const wide = { ...o, connections: o.connections * 4 };
  const oneWide = await target('postgres', 1, wide);
  console.log(row(`(p1w) as p1, ${wide.connections} connections`, oneWide));
  const twoWide = await target('postgres', 2, wide);
  console.log(row(`(p2w) as p2, ${wide.connections} connections`, twoWide));
  console.log('\nper 1000 acknowledged events:');
  console.log(`  (s)  ${detail(sqlite).replace(/commits\s+NaN\s+WAL syncs\s+NaN\s+/, '')}`);
  console.log(`  (p1) ${detail(one)}`);
  console.log(`  (p2) ${detail(two)}`);
  console.log(`  (p1w) ${detail(oneWide)}`);
  console.log(`  (p2w) ${detail(twoWide)}`);
  console.log(
    `\nratios: p1/s ${(one.rps / sqlite.rps).toFixed(2)}   p2/p1 ${(two.rps / one.rps).toFixed(2)}   p99 p1/s ${(one.p99 / sqlite.p99).toFixed(2)}   ` +
      `p1w/p1 ${(oneWide.rps / one.rps).toFixed(2)}   p2w/p1w ${(twoWide.rps / oneWide.rps).toFixed(2)}`,
  );

  const seconds = Math.max(3, Math.round(o.durationSec / 2));
  console.log(`\nThe PostgreSQL store alone (no HTTP), 50 concurrent receives for ${seconds}s, median of ${o.rounds}:`);
  console.log(`${'mode'.padEnd(52)} ${'events/s'.padStart(9)} ${'commits/s'.padStart(10)} ${'events/commit'.padStart(14)}`);
  const modes = [
    ['a commit per event, 10 connections', 'per-event'],
    ['  the same without its NOTIFY', 'per-event-no-notify'],
    ['  the same with synchronous_commit=off', 'per-event-async'],
    ['group commit as shipped (2 statements in flight)', 'group'],
  ] as const;
  const results: Record<string, number> = {};
  for (const [name, mode] of modes) {
    const runs = [];
    for (let i = 0; i < o.rounds; i++) runs.push(await storeOnly(mode, seconds));
    const m = { rate: median(runs.map((r) => r.rate)), commits: median(runs.map((r) => r.commitsPerSec)), per: median(runs.map((r) => r.perCommit)) };
    results[mode] = m.rate;
    console.log(`${name.padEnd(52)} ${m.rate.toFixed(0).padStart(9)} ${m.commits.toFixed(0).padStart(10)} ${m.per.toFixed(1).padStart(14)}`);
  }
  console.log(
    `\ngroup commit / commit per event: ${(results.group! / results['per-event']!).toFixed(1)}x;  ` +
      `without NOTIFY / with: ${(results['per-event-no-notify']! / results['per-event']!).toFixed(2)}x;  ` +
      `synchronous_commit=off / on: ${(results['per-event-async']! / results['per-event']!).toFixed(2)}x;  ` +
      `hookline over HTTP: 1 instance (p1) ${((one.rps / results.group!) * 100).toFixed(0)}%, 2 instances (p2) ${((two.rps / results.group!) * 100).toFixed(0)}% of what the store alone takes`,
  );
}
