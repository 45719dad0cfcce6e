// hookline backup: an online copy of a live SQLite store taken while a child `hookline serve`
// acknowledges signed events over real HTTP; restored, it holds every event acknowledged before the
// backup began. On PostgreSQL it says how to use pg_dump, without the password, and exits non-zero.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { bin, spawnHookline, writeChildConfig, type Child } from '../helpers/child.ts';
import { MURO_SECRET, tempDir } from '../helpers/env.ts';
import { send } from '../helpers/server.ts';
import { muroEvent, muroHeaders } from '../helpers/sign.ts';

const run = promisify(execFile);
/** The CLI as a child process; resolves with its exit code and output whatever the code. */
const cli = (args: string[], cwd: string) =>
  run(process.execPath, [bin, ...args], { cwd, env: { ...process.env, HOOKLINE_CONFIG: '' } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

let child: Child | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  if (child?.proc.exitCode === null) await child.stop();
  cleanup?.();
});

it('copies a live SQLite store under load; the restored copy has every event acknowledged before the backup began', { timeout: 120_000 }, async () => {
  const temp = tempDir('hookline-backup-');
  cleanup = temp.cleanup;
  const config = writeChildConfig(temp.dir);
  // A store of some size (~40 MB): copied a few pages at a time, a write between two steps would
  // restart the copy, and under this load it would never finish.
  await openSqliteStore(join(temp.dir, 'hookline.db'), { backgroundCheckpoints: false }).close();
  const seed = new Database(join(temp.dir, 'hookline.db'));
  const insert = seed.prepare(`INSERT INTO events (source, event_id, type, received_at, headers, body, status) VALUES ('muro', ?, 't', 0, '{}', ?, 'dispatched')`);
  seed.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run(`old_${i}`, JSON.stringify({ id: `old_${i}`, text: 'x'.repeat(2000) }));
  })();
  seed.close();
  child = await spawnHookline(['serve', '--config', config], { cwd: temp.dir });
  const url = `${child.url}/muro/webhook`;
  const agent = new Agent({ keepAlive: true, maxSockets: 20 });
  const acked = new Set<string>();
  let next = 0;
  let stop = false;
  const sender = async () => {
    while (!stop) {
      const id = `evt_backup_${next++}`;
      const body = JSON.stringify(muroEvent(id, 'message.created', { text: `message ${id}`, padding: 'x'.repeat(1024) }));
      const res = await send(url, { body, headers: muroHeaders(body, MURO_SECRET), agent });
      if (res.status === 200 && res.json?.id === id) acked.add(id);
    }
  };
  const senders = Array.from({ length: 20 }, sender);
  while (acked.size < 500) await new Promise((r) => setTimeout(r, 20));

  const before = new Set(acked);
  const target = join(temp.dir, 'backup.db');
  const backup = await cli(['backup', target, '--config', config], temp.dir);
  expect(Number(/(\d+) events/.exec(backup.stdout)?.[1])).toBeGreaterThanOrEqual(20_000 + before.size);
  const during = acked.size - before.size;
  stop = true;
  await Promise.all(senders);
  agent.destroy();
  expect(backup.stderr).not.toMatch(/error/i);
  expect(backup.code).toBe(0);
  expect(backup.stdout).toMatch(/^wrote .*backup\.db: \d+ bytes, quick_check ok; \d+ events, \d+ runs, \d+ tickets/);
  expect(during).toBeGreaterThan(0); // the server really was acknowledging while the backup ran
  // No temporary file left beside it.
  expect(readdirSync(temp.dir).filter((f) => f.includes('partial'))).toEqual([]);

  // Restore: the copy is the store of a fresh hookline.
  await child.stop();
  const restoredDir = tempDir('hookline-restored-');
  try {
    copyFileSync(target, join(restoredDir.dir, 'hookline.db'));
    const restoredConfig = writeChildConfig(restoredDir.dir);
    child = await spawnHookline(['serve', '--config', restoredConfig], { cwd: restoredDir.dir });
    await child.stop();
    const db = new Database(join(restoredDir.dir, 'hookline.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const stored = new Set(db.prepare('SELECT event_id FROM events').pluck().all() as string[]);
    db.close();
    const missing = [...before].filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
  } finally {
    restoredDir.cleanup();
  }
});

it('refuses to overwrite a file unless --force, and writes nothing half', async () => {
  const temp = tempDir('hookline-backup-');
  cleanup = temp.cleanup;
  const config = writeChildConfig(temp.dir);
  const target = join(temp.dir, 'backup.db');
  writeFileSync(target, 'precious');
  const refused = await cli(['backup', target, '--config', config], temp.dir);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/backup\.db exists; .*--force/);
  const forced = await cli(['backup', target, '--force', '--config', config], temp.dir);
  expect(forced.code).toBe(0);
  const db = new Database(target, { readonly: true });
  expect(db.pragma('quick_check', { simple: true })).toBe('ok');
  db.close();
  const missingDir = await cli(['backup', join(temp.dir, 'no', 'such', 'dir', 'b.db'), '--config', config], temp.dir);
  expect(missingDir.code).toBe(1);
  expect(existsSync(join(temp.dir, 'no'))).toBe(false);
});

it('on PostgreSQL explains pg_dump with the URL minus its password, and exits non-zero', async () => {
  const temp = tempDir('hookline-backup-');
  cleanup = temp.cleanup;
  const config = writeChildConfig(temp.dir, '', 'postgres://hook:s3cret@db.example:5433/hookline?options=-c%20search_path%3Dtenant_a');
  const result = await cli(['backup', 'out.dump', '--config', config], temp.dir);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain(`pg_dump --format=custom --schema=tenant_a --file='out.dump' 'postgres://hook@db.example:5433/hookline?options=-c%20search_path%3Dtenant_a'`);
  expect(result.stderr + result.stdout).not.toContain('s3cret');
});
