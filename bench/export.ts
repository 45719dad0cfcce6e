// Issue 13: `hookline export` of 1 000 000 events — time and peak RSS — against the same export of
// 100 000 events: memory must stay flat (keyset pages, backpressure), time grow linearly. SQLite always;
// PostgreSQL when HOOKLINE_BENCH_PG_URL (else HOOKLINE_TEST_PG_URL) is set. Rows are seeded straight
// into the store's tables in big transactions (receiving a million events is another bench's job).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../src/store/open.ts';
import { median } from './lib/load.ts';

const run = promisify(execFile);
const child = new URL('./lib/export-child.ts', import.meta.url).pathname;
const pgUrl = process.env.HOOKLINE_BENCH_PG_URL ?? process.env.HOOKLINE_TEST_PG_URL;
const BIG = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const SMALL = 100_000; // past start-up, so that the ratio shows whether memory grows with the rows
const T0 = Date.UTC(2026, 0, 1);

/** A muro message.created body of about 420 bytes, with commas and quotes for the CSV writer. */
const body = (i: number) =>
  JSON.stringify({
    id: `evt_${i}`,
    type: 'message.created',
    organization_id: 'org_7f3a2c91',
    created_at: new Date(T0 + i * 1000).toISOString(),
    data: {
      conversation: { id: `conv_${i % 5000}`, status: 'open', channel: 'web' },
      visitor: { id: `vis_${i % 5000}`, name: 'Dana "D." Whitfield', email: `visitor${i % 5000}@example.com` },
      message: { id: `msg_${i}`, author: { type: 'visitor' }, text: `Checkout fails, again: order ${i} returns 502, then "payment declined".` },
    },
  });

async function seedSqlite(file: string, rows: number): Promise<void> {
  await (await openStore({ url: `sqlite:${file}`, synchronous: 'normal' } as never, { longRunning: false })).close(); // migrate
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO events (source, event_id, type, received_at, headers, body, status) VALUES ('muro', ?, 'message.created', ?, '{}', ?, 'dispatched')`);
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(`evt_${i}`, T0 + i * 1000, body(i));
  });
  for (let from = 0; from < rows; from += 100_000) batch(from, Math.min(rows, from + 100_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function pgSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `hl_bench_export_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.end();
  const u = new URL(pgUrl!);
  u.searchParams.set('options', `-c search_path=${name}`);
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await c.end();
    },
  };
}

async function seedPostgres(url: string, rows: number): Promise<void> {
  await (await openStore({ url, pool_size: 2, statement_timeout: 600_000 } as never, { longRunning: false })).close(); // migrate
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (let from = 0; from < rows; from += 50_000) {
    const to = Math.min(rows, from + 50_000);
    const ids: string[] = [];
    const times: number[] = [];
    const bodies: string[] = [];
    for (let i = from; i < to; i++) {
      ids.push(`evt_${i}`);
      times.push(T0 + i * 1000);
      bodies.push(body(i));
    }
    await client.query(
      `INSERT INTO events (source, event_id, type, received_at, headers, body, status)
       SELECT 'muro', id, 'message.created', t, '{}', b, 'dispatched' FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, t, b)`,
      [ids, times, bodies],
    );
  }
  await client.query('VACUUM ANALYZE events');
  await client.end();
}

interface Figure {
  rows: number;
  ms: number;
  maxRssMb: number;
  bytes: number;
}

async function exportOnce(url: string, format: 'jsonl' | 'csv', dir: string): Promise<Figure> {
  const output = join(dir, `export-${randomBytes(4).toString('hex')}.${format}`);
  const { stdout } = await run(process.execPath, [child, url, 'events', format, output], { maxBuffer: 1 << 20 });
  const figure = JSON.parse(stdout) as Omit<Figure, 'bytes'>;
  const bytes = statSync(output).size;
  rmSync(output);
  return { ...figure, bytes };
}

/** Median of `rounds` exports (time and peak RSS each the median of its own). */
async function measureExport(url: string, format: 'jsonl' | 'csv', dir: string, rounds: number): Promise<Figure> {
  const all: Figure[] = [];
  for (let i = 0; i < rounds; i++) all.push(await exportOnce(url, format, dir));
  return { rows: all[0]!.rows, bytes: all[0]!.bytes, ms: median(all.map((f) => f.ms)), maxRssMb: median(all.map((f) => f.maxRssMb)) };
}

function report(backend: string, small: Record<string, Figure>, big: Record<string, Figure>): void {
  for (const format of ['jsonl', 'csv']) {
    const s = small[format]!;
    const b = big[format]!;
    console.log(
      `${backend.padEnd(10)} ${format.padEnd(5)} ${String(b.rows).padStart(9)} rows  ${(b.ms / 1000).toFixed(1).padStart(6)} s  ${Math.round((b.rows / b.ms) * 1000).toLocaleString('en').padStart(9)} rows/s  ` +
        `${(b.bytes / 2 ** 20).toFixed(0).padStart(5)} MB out  peak RSS ${b.maxRssMb.toFixed(0).padStart(4)} MB  ` +
        `(${s.rows} rows: ${s.maxRssMb.toFixed(0)} MB; RSS ratio ${(b.maxRssMb / s.maxRssMb).toFixed(2)}x for ${(b.rows / s.rows).toFixed(0)}x the rows; time ratio ${(b.ms / s.ms).toFixed(0)}x)`,
    );
  }
}

export async function exportBench(o: { rounds: number }): Promise<void> {
  const rounds = Math.max(1, Math.min(o.rounds, 3));
  console.log(`\n## export (issue 13): ${BIG.toLocaleString('en')} events to a file, each export a child process; medians of ${rounds} rounds`);
  const dir = mkdtempSync(join(tmpdir(), 'hookline-bench-export-'));
  try {
    const seeded = performance.now();
    await seedSqlite(join(dir, 'small.db'), SMALL);
    await seedSqlite(join(dir, 'big.db'), BIG);
    console.log(`seeded SQLite in ${((performance.now() - seeded) / 1000).toFixed(0)} s: ${(statSync(join(dir, 'big.db')).size / 2 ** 20).toFixed(0)} MB`);
    const small: Record<string, Figure> = {};
    const big: Record<string, Figure> = {};
    for (const format of ['jsonl', 'csv'] as const) {
      small[format] = await measureExport(`sqlite:${join(dir, 'small.db')}`, format, dir, rounds);
      big[format] = await measureExport(`sqlite:${join(dir, 'big.db')}`, format, dir, rounds);
    }
    report('SQLite', small, big);
    rmSync(join(dir, 'big.db'), { force: true });

    if (!pgUrl) return console.log('PostgreSQL: skipped (set HOOKLINE_BENCH_PG_URL or HOOKLINE_TEST_PG_URL)');
    const smallPg = await pgSchema();
    const bigPg = await pgSchema();
    try {
      await seedPostgres(smallPg.url, SMALL);
      await seedPostgres(bigPg.url, BIG);
      const s: Record<string, Figure> = {};
      const b: Record<string, Figure> = {};
      for (const format of ['jsonl', 'csv'] as const) {
        s[format] = await measureExport(smallPg.url, format, dir, rounds);
        b[format] = await measureExport(bigPg.url, format, dir, rounds);
      }
      report('PostgreSQL', s, b);
    } finally {
      await smallPg.drop();
      await bigPg.drop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
