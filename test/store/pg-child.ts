// A separate process sharing a PostgreSQL store with the test (postgres.test.ts, "several processes").
//   node pg-child.ts <url> open            open (migrate) as soon as told, report the versions there
//   node pg-child.ts <url> claim <owner>   claim runs in small batches, finish each, until none is left
//   node pg-child.ts <url> expire          time out due waits in small batches until none is left
// Prints "ready" once loaded, waits for "go" on stdin (so that processes start at the same moment),
// then prints one JSON line with what it did.
import { createInterface } from 'node:readline';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/types.ts';

const [url, mode, owner = `child-${process.pid}`] = process.argv.slice(2);
if (!url || !mode) throw new Error('usage: pg-child.ts <url> open|claim|expire [owner]');
const NOW = Number(process.env.CHILD_NOW ?? Date.now());

const go = new Promise<void>((resolve) => {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'go') {
      lines.close();
      resolve();
    }
  });
});

async function claimAll(store: Store) {
  const claimed: string[] = [];
  for (;;) {
    const runs = await store.queue.claim({ owner, now: NOW, leaseMs: 60_000, limit: 3 });
    if (runs.length === 0) break;
    for (const run of runs) {
      claimed.push(run.id);
      await store.queue.finish({ runId: run.id, owner }, { status: 'done', now: NOW });
    }
  }
  return { claimed };
}

async function expireAll(store: Store) {
  const expired: string[] = [];
  for (;;) {
    const waits = await store.waits.expire(NOW, 3);
    if (waits.length === 0) break;
    expired.push(...waits.map((w) => w.runId));
  }
  return { expired };
}

if (mode === 'open') {
  process.stdout.write('ready\n');
  await go;
  const store = await openPostgresStore(url, { poolSize: 2 });
  await store.close();
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
} else {
  const store = await openPostgresStore(url, { poolSize: 4 });
  try {
    process.stdout.write('ready\n');
    await go;
    const result = mode === 'claim' ? await claimAll(store) : mode === 'expire' ? await expireAll(store) : undefined;
    if (!result) throw new Error(`unknown mode ${mode}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}
