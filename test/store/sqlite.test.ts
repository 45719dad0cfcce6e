import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { tempDir } from '../helpers/env.ts';
import { describeStoreConformance, type OpenedStore } from './conformance.ts';

function open(): OpenedStore & { file: string } {
  const { dir, cleanup } = tempDir('hookline-store-');
  const file = join(dir, 'hookline.db');
  const store = openSqliteStore(file);
  return {
    store,
    file,
    cleanup: async () => {
      await store.close();
      cleanup();
    },
  };
}

describeStoreConformance('sqlite', {
  open: async () => open(),
  // Another connection holding the write lock: the store's writes time out (busy_timeout) and fail.
  openUnreliable: async () => {
    const opened = open();
    const blocker = new Database(opened.file);
    return {
      ...opened,
      outage: async () => {
        blocker.exec('BEGIN EXCLUSIVE');
      },
      recover: async () => {
        if (blocker.inTransaction) blocker.exec('COMMIT');
      },
      cleanup: async () => {
        if (blocker.inTransaction) blocker.exec('ROLLBACK');
        blocker.close();
        await opened.cleanup();
      },
    };
  },
});

describe('sqlite store', () => {
  it('refuses table names in SQLite\'s own sqlite_ namespace with NonRetryableError', async () => {
    const { store, cleanup } = open();
    try {
      await expect(store.tables.insert('sqlite_stat1', { a: 1 }, 'k', 0)).rejects.toBeInstanceOf(NonRetryableError);
    } finally {
      await cleanup();
    }
  });
});
