import type Database from 'better-sqlite3';

/** Versioned schema; PRAGMA user_version records how many have run. Append only. */
export const migrations: readonly string[] = [
  `
  CREATE TABLE seen_events (
    source     TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX seen_events_expiry ON seen_events (expires_at);

  CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    headers       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    test          INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL DEFAULT 'received'
  );
  CREATE INDEX events_by_id ON events (event_id, source);
  CREATE INDEX events_pending ON events (status, seq) WHERE status = 'received';
  CREATE INDEX events_by_type ON events (source, type, seq);
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
