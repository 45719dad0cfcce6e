import type Database from 'better-sqlite3';
import { indexKey } from '../index-key.ts';

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
  `
  ALTER TABLE events ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

  CREATE TABLE transcript_messages (
    conversation_id TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    event_seq       INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    message         TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
  );
  CREATE INDEX transcript_order ON transcript_messages (conversation_id, event_seq, position);

  CREATE TABLE runs (
    id           TEXT    PRIMARY KEY,
    event_seq    INTEGER NOT NULL REFERENCES events (seq),
    recipe       TEXT    NOT NULL,
    run_key      TEXT,
    generation   INTEGER NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    error        TEXT
  );
  CREATE INDEX runs_due ON runs (available_at) WHERE status IN ('queued', 'retrying');
  CREATE INDEX runs_leased ON runs (lease_until) WHERE status = 'running';
  CREATE INDEX runs_by_status ON runs (status, id);
  CREATE INDEX runs_by_event ON runs (event_seq);
  -- At most one live run per recipe and key.
  CREATE UNIQUE INDEX runs_live_key ON runs (recipe, run_key)
    WHERE run_key IS NOT NULL AND status IN ('queued', 'running', 'retrying', 'waiting');

  CREATE TABLE steps (
    run_id      TEXT    NOT NULL REFERENCES runs (id),
    step_id     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    output      TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (run_id, step_id)
  );

  CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT    NOT NULL REFERENCES runs (id),
    step_id     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    status_code INTEGER,
    error       TEXT,
    request     TEXT,
    response    TEXT
  );
  CREATE INDEX attempts_by_run ON attempts (run_id, id);

  CREATE TABLE waits (
    run_id   TEXT    NOT NULL REFERENCES runs (id),
    step_id  TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    deadline INTEGER NOT NULL,
    status   TEXT    NOT NULL DEFAULT 'waiting',
    PRIMARY KEY (run_id, step_id)
  );
  CREATE INDEX waits_waiting ON waits (source) WHERE status = 'waiting';
  CREATE INDEX waits_deadline ON waits (deadline) WHERE status = 'waiting';

  CREATE TABLE store_tables (
    name       TEXT PRIMARY KEY,
    columns    TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  `
  ALTER TABLE runs ADD COLUMN lane TEXT;
  `,
  `
  CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT    NOT NULL UNIQUE,
    name       TEXT,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    subject       TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'open',
    first_seq     INTEGER NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  CREATE INDEX tickets_recent ON tickets (updated_at);

  CREATE TABLE ticket_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    event_seq       INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    from_address    TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    html            TEXT,
    message_id      TEXT,
    reply_to        TEXT    NOT NULL
  );
  CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, event_seq);
  CREATE INDEX ticket_messages_by_message_id ON ticket_messages (message_id);

  CREATE TABLE ticket_message_refs (
    ticket_message_id INTEGER NOT NULL REFERENCES ticket_messages (id),
    ref               TEXT    NOT NULL
  );
  CREATE INDEX ticket_message_refs_by_ref ON ticket_message_refs (ref);

  CREATE TABLE attachments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_message_id INTEGER NOT NULL REFERENCES ticket_messages (id),
    filename          TEXT    NOT NULL,
    content_type      TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    sha256            TEXT,
    saved             INTEGER NOT NULL,
    reason            TEXT,
    content_id        TEXT
  );
  CREATE INDEX attachments_by_message ON attachments (ticket_message_id);
  `,
  // Ticket threading trusts only a ticket's participants; the reason of each placement is kept.
  // Tickets recorded before know only their senders: To/Cc were not kept then.
  `
  ALTER TABLE ticket_messages ADD COLUMN threading TEXT;
  CREATE TABLE ticket_participants (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    address   TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, address)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO ticket_participants (ticket_id, address)
    SELECT ticket_id, lower(from_address) FROM ticket_messages WHERE length(from_address) <= 254;
  `,
  `
  -- Values from event data are kept as index keys (src/store/index-key.ts): rewrite older rows.
  UPDATE transcript_messages SET conversation_id = hookline_index_key(conversation_id), message_id = hookline_index_key(message_id)
    WHERE conversation_id <> hookline_index_key(conversation_id) OR message_id <> hookline_index_key(message_id);
  UPDATE runs SET run_key = hookline_index_key(run_key) WHERE run_key <> hookline_index_key(run_key);

  -- An event whose dispatch failed is set aside (status 'failed') with its error.
  ALTER TABLE events ADD COLUMN dispatch_error TEXT;
  CREATE INDEX events_set_aside ON events (seq) WHERE status = 'failed';

  -- /readyz writes this row to know that the store can write, not only answer.
  CREATE TABLE store_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    writes     INTEGER NOT NULL
  );
  INSERT INTO store_probe (id, writes) VALUES (1, 0);
  `,
  // Data lifecycle — forget: the audit of erasures (who, when, how many rows; never the address).
  `
  CREATE TABLE erasures (
    id           TEXT    PRIMARY KEY,
    requested_by TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    counts       TEXT    NOT NULL
  );
  CREATE INDEX erasures_recent ON erasures (requested_at);
  `,
  // Data lifecycle (retention): the last prune for stats; (time, last seq) marks that date
  // transcript messages once their events are gone; transcripts pruned in event order.
  `
  CREATE TABLE prune_log (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    finished_at INTEGER NOT NULL,
    took_ms     INTEGER NOT NULL,
    counts      TEXT    NOT NULL
  );
  CREATE TABLE seq_marks (
    at  INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
  );
  CREATE INDEX transcript_by_seq ON transcript_messages (event_seq);
  `,
  // Flow control (issue 14): why a queued run waits (hold: rate:<connection> or circuit:<connection>),
  // the rate slots and the circuit of each connection, and the paused recipes.
  `
  ALTER TABLE runs ADD COLUMN hold TEXT;
  CREATE INDEX runs_held ON runs (hold) WHERE hold IS NOT NULL;
  CREATE TABLE flow_rates (
    connection TEXT PRIMARY KEY,
    slots      TEXT NOT NULL
  );
  CREATE TABLE flow_circuits (
    connection  TEXT    PRIMARY KEY,
    state       TEXT    NOT NULL,
    failures    INTEGER NOT NULL,
    opened_at   INTEGER,
    reopen_at   INTEGER,
    probe_run   TEXT,
    probe_until INTEGER,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE paused_recipes (
    recipe    TEXT    PRIMARY KEY,
    paused_at INTEGER NOT NULL
  );
  `,
  // Issue 14, bulk replay, recipe versions, schedules (flow-b).
  `
  -- A run keeps the recipe version it started with: the compiled version's hash, and the source of
  -- every version a run used, so that a worker continues an old run with its old steps.
  ALTER TABLE runs ADD COLUMN recipe_version TEXT;
  CREATE TABLE recipe_versions (
    recipe     TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    file       TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    first_used INTEGER NOT NULL,
    PRIMARY KEY (recipe, hash)
  ) WITHOUT ROWID;

  -- Bulk replays and retries, each with its filter; what each one touched, so that doing it twice
  -- by mistake is visible (and needs --again).
  CREATE TABLE bulk_operations (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    filter     TEXT    NOT NULL,
    again      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    matched    INTEGER NOT NULL DEFAULT 0,
    done       INTEGER NOT NULL DEFAULT 0,
    skipped    INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER
  );
  CREATE TABLE bulk_items (
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    operation_id TEXT NOT NULL REFERENCES bulk_operations (id),
    PRIMARY KEY (kind, target)
  ) WITHOUT ROWID;

  -- Schedules: one row per recipe and tick, whoever fires it first.
  CREATE TABLE schedule_ticks (
    recipe   TEXT    NOT NULL,
    tick     INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (recipe, tick)
  ) WITHOUT ROWID;
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  // For migrations that rewrite stored values into index keys; this connection only.
  db.function('hookline_index_key', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? indexKey(value) : value));
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
