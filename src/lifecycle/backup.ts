import { existsSync, rmSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../store/types.ts';
import { InputError } from './errors.ts';

export interface BackupReport {
  file: string;
  bytes: number;
  /** PRAGMA quick_check of the copy: "ok". */
  check: string;
  events: number;
  runs: number;
  tickets: number;
}

/**
 * `hookline backup <file>`: SQLite's online backup into a temporary file beside the target, checked
 * by opening the copy (quick_check, row counts), then renamed into place — a failed or interrupted
 * backup never leaves a half file under the chosen name. Refuses an existing file unless `force`.
 */
export async function backupSqlite(store: Store, file: string, force = false): Promise<BackupReport> {
  if (!store.backup) throw new InputError('this store has no online backup');
  if (existsSync(file) && !force) throw new InputError(`${file} exists; choose another file or pass --force to replace it`);
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  rmSync(temporary, { force: true });
  try {
    await store.backup.copyTo(temporary);
    const copy = new Database(temporary, { fileMustExist: true });
    let report: Omit<BackupReport, 'file' | 'bytes'>;
    try {
      // One self-contained file (the copy carries the live store's WAL mode): no -wal or -shm beside
      // it to carry along or to forget. hookline turns WAL on again when it opens the restored file.
      copy.pragma('journal_mode = DELETE');
      const check = (copy.pragma('quick_check', { simple: true }) as string) ?? 'unknown';
      const count = (table: string) => copy.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      report = { check, events: count('events'), runs: count('runs'), tickets: count('tickets') };
    } finally {
      copy.close();
    }
    if (report.check !== 'ok') throw new Error(`the copy failed its check (quick_check: ${report.check}); nothing was written to ${file}`);
    await rename(temporary, file);
    return { file, bytes: statSync(file).size, ...report };
  } catch (error) {
    for (const leftover of [temporary, `${temporary}-wal`, `${temporary}-shm`, `${temporary}-journal`]) await rm(leftover, { force: true });
    throw error;
  }
}

/** What to run instead on PostgreSQL: pg_dump of the same database and schema, without the password. */
export function pgDumpAdvice(url: string, file: string): string {
  let target = url;
  let schema: string | undefined;
  try {
    const u = new URL(url);
    u.password = '';
    const options = u.searchParams.get('options');
    schema = options ? /search_path=([A-Za-z0-9_]+)/.exec(options)?.[1] : undefined;
    target = u.toString();
  } catch {
    target = '<your store.url without the password>';
  }
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return [
    'hookline backup copies a SQLite store; this store is PostgreSQL. Back it up with pg_dump (online and consistent: it reads one snapshot):',
    '',
    `  pg_dump --format=custom${schema ? ` --schema=${schema}` : ''} --file=${quote(file)} ${quote(target)}`,
    '',
    'pg_dump asks for the password (or set PGPASSWORD, or use ~/.pgpass). Restore with:',
    '',
    `  pg_restore --clean --if-exists --dbname=${quote(target)} ${quote(file)}`,
  ].join('\n');
}
