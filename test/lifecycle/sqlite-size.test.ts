// SQLite under a steady stream with retention: the pruner's freed pages are reused (and, on a file
// created with auto_vacuum=incremental, partly returned), so the file stops growing once retention
// is reached. Modest numbers; the soak in `npm run bench soak` runs the full-size version.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Pruner } from '../../src/lifecycle/pruner.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';
import { manualClock } from '../../src/util/clock.ts';
import { tempDir } from '../helpers/env.ts';
import { commit, receive } from '../store/fixtures.ts';

const MINUTE = 60_000;

describe('SQLite file size under a steady stream with retention', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function stream(prepare?: (file: string) => void) {
    const temp = tempDir();
    const file = join(temp.dir, 'hookline.db');
    prepare?.(file);
    const store: Store = openSqliteStore(file, { backgroundCheckpoints: false });
    cleanups.push(() => temp.cleanup(), () => store.close());
    const clock = manualClock(1_700_000_000_000);
    const pruner = new Pruner({
      store,
      clock,
      logger: createLogger('silent'),
      retention: () => ({ events: 3 * MINUTE, attachments: 90 * MINUTE, transcripts: 3 * MINUTE, tickets: null, summaries: null }),
      attachmentsDir: () => join(temp.dir, 'attachments'),
    });
    const body = JSON.stringify({ data: { text: 'x'.repeat(1500) } });
    const sizes: number[] = [];
    const db = new Database(file, { readonly: true });
    cleanups.push(() => void db.close());
    for (let minute = 0; minute < 15; minute++) {
      for (let i = 0; i < 400; i++) {
        const seq = await receive(store, { receivedAt: clock.now(), body });
        await commit(store, seq, { now: clock.now(), messages: [{ conversationId: `c${i % 20}`, messageId: `${minute}-${i}`, eventSeq: seq, position: 0, message: { text: 'hi' } }] });
      }
      await pruner.pass();
      clock.advance(MINUTE);
      sizes.push((db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number));
    }
    return { sizes, autoVacuum: db.pragma('auto_vacuum', { simple: true }) as number, events: db.prepare('SELECT count(*) FROM events').pluck().get() as number };
  }

  it('a new file (auto_vacuum incremental) levels off: its last third grows less than 10%', async () => {
    const { sizes, autoVacuum, events } = await stream();
    expect(autoVacuum).toBe(2);
    expect(events).toBeLessThanOrEqual(4 * 400);
    const third = sizes[10]!;
    expect(Math.max(...sizes.slice(10))).toBeLessThan(third * 1.1);
    // Without pruning 15 minutes of events would take about five times the space.
    expect(sizes.at(-1)!).toBeLessThan(sizes[3]! * 2);
  });

  it('a file created before (auto_vacuum none) reuses its free pages and levels off too', async () => {
    const { sizes, autoVacuum } = await stream((file) => {
      const db = new Database(file);
      db.exec('CREATE TABLE created_before (x)'); // a file that already has a table keeps auto_vacuum=none
      db.close();
    });
    expect(autoVacuum).toBe(0);
    expect(Math.max(...sizes.slice(10))).toBeLessThan(sizes[10]! * 1.1);
  });
});
