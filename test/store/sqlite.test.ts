import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.ts';
import { indexKey } from '../../src/store/index-key.ts';
import { migrations } from '../../src/store/sqlite/migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { tempDir } from '../helpers/env.ts';
import { describeStoreConformance, type OpenedStore } from './conformance.ts';
import { describeFlowConformance } from './flow-conformance.ts';

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

describeFlowConformance('sqlite', { open: async () => open() });

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
  it('rewrites conversation, message and run keys stored before index keys into their index keys', async () => {
    const { dir, cleanup } = tempDir('hookline-store-');
    try {
      const file = join(dir, 'hookline.db');
      const old = new Database(file);
      const before = migrations.findIndex((sql) => sql.includes('store_probe'));
      for (const sql of migrations.slice(0, before)) old.exec(sql);
      old.pragma(`user_version = ${before}`);
      const values = ['conv_1', 'x'.repeat(201), 'x\u0000y', 'tab\there', '~tilde', 'ünïcödé ✓'];
      old.prepare(`INSERT INTO events (source, event_id, type, received_at, headers, body) VALUES ('muro', 'e', 't', 0, '{}', '{}')`).run();
      for (const [i, v] of values.entries()) {
        old.prepare(`INSERT INTO transcript_messages (conversation_id, message_id, event_seq, position, message) VALUES (?, ?, 1, 0, '{}')`).run(v, `m${i}:${v}`);
        old.prepare(`INSERT INTO runs (id, event_seq, recipe, run_key, status, available_at, created_at, updated_at) VALUES (?, 1, 'r', ?, 'done', 0, 0, 0)`).run(`run${i}`, v);
      }
      old.close();
      await openSqliteStore(file).close();
      const db = new Database(file, { readonly: true });
      const messages = db.prepare('SELECT conversation_id, message_id FROM transcript_messages').all() as Array<{ conversation_id: string; message_id: string }>;
      expect(messages.map((m) => m.conversation_id).sort()).toEqual(values.map(indexKey).sort());
      expect(messages.map((m) => m.message_id).sort()).toEqual(values.map((v, i) => indexKey(`m${i}:${v}`)).sort());
      expect((db.prepare('SELECT run_key FROM runs').pluck().all() as string[]).sort()).toEqual(values.map(indexKey).sort());
      db.close();
    } finally {
      cleanup();
    }
  });

  it('refuses table names in SQLite\'s own sqlite_ namespace with NonRetryableError', async () => {
    const { store, cleanup } = open();
    try {
      await expect(store.records.tables.insert({ table: 'sqlite_stat1', row: { a: 1 }, idempotencyKey: 'k', now: 0 })).rejects.toBeInstanceOf(NonRetryableError);
    } finally {
      await cleanup();
    }
  });
});
