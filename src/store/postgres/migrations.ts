import type { Pool } from 'pg';
import { indexKeySql } from '../index-key.ts';
import { checkin, checkout, lockKey } from './db.ts';

const conversationKey = indexKeySql('conversation_id');
const messageKey = indexKeySql('message_id');
const runKey = indexKeySql('run_key');

/**
 * Versioned schema; the `schema_migrations` table records which versions have run (version n is
 * migrations[n - 1]). Append only. Times are epoch milliseconds in bigint columns; JSON is kept as
 * text (exactly what JSON.stringify wrote: jsonb would reject \u0000 in a payload and reorder keys).
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE seen_events (
    source     text   NOT NULL,
    event_id   text   NOT NULL,
    -- When the id was last accepted; a later receive of it compares its own time with expires_at.
    seen_at    bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (source, event_id)
  );
  CREATE INDEX seen_events_expiry ON seen_events (expires_at);

  CREATE TABLE events (
    seq         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The inserting transaction: dispatch hands out an event only once every transaction that
    -- could still insert an earlier one has ended (see dispatch.ts).
    xid         xid8    NOT NULL DEFAULT pg_current_xact_id(),
    source      text    NOT NULL,
    event_id    text    NOT NULL,
    type        text    NOT NULL,
    received_at bigint  NOT NULL,
    headers     text    NOT NULL,
    body        text    NOT NULL,
    test        boolean NOT NULL DEFAULT false,
    status      text    NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'dispatched')),
    generation  integer NOT NULL DEFAULT 0
  );
  CREATE INDEX events_by_id ON events (event_id, source);
  CREATE INDEX events_pending ON events (xid, seq) WHERE status = 'received';
  CREATE INDEX events_by_type ON events (source, type, seq);

  CREATE TABLE transcript_messages (
    conversation_id text    NOT NULL,
    message_id      text    NOT NULL,
    event_seq       bigint  NOT NULL,
    position        integer NOT NULL,
    message         text    NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
  );
  CREATE INDEX transcript_order ON transcript_messages (conversation_id, event_seq, position);

  CREATE TABLE runs (
    id           text    PRIMARY KEY,
    -- Creation order: the claim's tie-break (run ids only sort by the millisecond).
    ord          bigint  GENERATED ALWAYS AS IDENTITY,
    event_seq    bigint  NOT NULL REFERENCES events (seq),
    recipe       text    NOT NULL,
    run_key      text,
    generation   integer NOT NULL DEFAULT 0,
    status       text    NOT NULL CHECK (status IN ('queued', 'running', 'retrying', 'waiting', 'done', 'dead', 'skipped')),
    attempt      integer NOT NULL DEFAULT 0,
    available_at bigint  NOT NULL,
    lease_owner  text,
    lease_until  bigint,
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL,
    error        text
  );
  -- The claim scans this in order. A running run was claimed when it was due, so its available_at
  -- is in the past too; one index serves both due runs and expired leases.
  CREATE INDEX runs_claimable ON runs (available_at, ord) WHERE status IN ('queued', 'retrying', 'running');
  CREATE INDEX runs_by_owner ON runs (lease_owner) WHERE status = 'running';
  CREATE INDEX runs_by_status ON runs (status, id);
  CREATE INDEX runs_by_recipe ON runs (recipe, id);
  CREATE INDEX runs_by_event ON runs (event_seq);
  -- At most one live run per recipe and key.
  CREATE UNIQUE INDEX runs_live_key ON runs (recipe, run_key)
    WHERE run_key IS NOT NULL AND status IN ('queued', 'running', 'retrying', 'waiting');

  CREATE TABLE steps (
    run_id      text   NOT NULL REFERENCES runs (id),
    step_id     text   NOT NULL,
    ord         bigint GENERATED ALWAYS AS IDENTITY,
    status      text   NOT NULL CHECK (status IN ('done', 'skipped', 'waiting')),
    output      text,
    started_at  bigint NOT NULL,
    finished_at bigint,
    PRIMARY KEY (run_id, step_id)
  );

  CREATE TABLE attempts (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      text    NOT NULL REFERENCES runs (id),
    step_id     text    NOT NULL,
    attempt     integer NOT NULL,
    started_at  bigint  NOT NULL,
    duration_ms integer NOT NULL,
    outcome     text    NOT NULL,
    status_code integer,
    error       text,
    request     text,
    response    text
  );
  CREATE INDEX attempts_by_run ON attempts (run_id, id);

  CREATE TABLE waits (
    run_id   text   NOT NULL REFERENCES runs (id),
    step_id  text   NOT NULL,
    ord      bigint GENERATED ALWAYS AS IDENTITY,
    source   text   NOT NULL,
    type     text   NOT NULL,
    deadline bigint NOT NULL,
    status   text   NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'matched', 'timed_out')),
    PRIMARY KEY (run_id, step_id)
  );
  CREATE INDEX waits_waiting ON waits (source, ord) WHERE status = 'waiting';
  CREATE INDEX waits_deadline ON waits (deadline, ord) WHERE status = 'waiting';

  CREATE TABLE store_tables (
    name       text   PRIMARY KEY,
    columns    text   NOT NULL,
    created_at bigint NOT NULL
  );
  `,
  `
  ALTER TABLE runs ADD COLUMN lane text;
  `,
  `
  CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text   NOT NULL UNIQUE,
    name       text,
    created_at bigint NOT NULL
  );

  CREATE TABLE tickets (
    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   bigint  NOT NULL REFERENCES customers (id),
    subject       text    NOT NULL,
    status        text    NOT NULL DEFAULT 'open',
    first_seq     bigint  NOT NULL,
    message_count integer NOT NULL DEFAULT 0,
    created_at    bigint  NOT NULL,
    updated_at    bigint  NOT NULL
  );
  CREATE INDEX tickets_recent ON tickets (updated_at);

  CREATE TABLE ticket_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id),
    idempotency_key text   NOT NULL UNIQUE,
    event_seq       bigint NOT NULL,
    received_at     bigint NOT NULL,
    from_address    text   NOT NULL,
    subject         text   NOT NULL,
    text            text   NOT NULL,
    html            text,
    message_id      text,
    reply_to        text   NOT NULL
  );
  CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, event_seq);
  CREATE INDEX ticket_messages_by_message_id ON ticket_messages (message_id);

  CREATE TABLE ticket_message_refs (
    ticket_message_id bigint NOT NULL REFERENCES ticket_messages (id),
    ref               text   NOT NULL
  );
  CREATE INDEX ticket_message_refs_by_ref ON ticket_message_refs (ref);

  CREATE TABLE attachments (
    id                bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_message_id bigint  NOT NULL REFERENCES ticket_messages (id),
    filename          text    NOT NULL,
    content_type      text    NOT NULL,
    size              bigint  NOT NULL,
    sha256            text,
    saved             boolean NOT NULL,
    reason            text,
    content_id        text
  );
  CREATE INDEX attachments_by_message ON attachments (ticket_message_id);
  `,
  // Ticket threading trusts only a ticket's participants; the reason of each placement is kept.
  // Tickets recorded before know only their senders: To/Cc were not kept then.
  `
  ALTER TABLE ticket_messages ADD COLUMN threading text;
  CREATE TABLE ticket_participants (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    address   text   NOT NULL,
    PRIMARY KEY (ticket_id, address)
  );
  INSERT INTO ticket_participants (ticket_id, address)
    SELECT DISTINCT ticket_id, lower(from_address) FROM ticket_messages WHERE length(from_address) <= 254
    ON CONFLICT DO NOTHING;
  `,
  `
  -- Values from event data are kept as index keys (src/store/index-key.ts): rewrite older rows.
  UPDATE transcript_messages SET conversation_id = ${conversationKey}, message_id = ${messageKey}
    WHERE conversation_id <> ${conversationKey} OR message_id <> ${messageKey};
  UPDATE runs SET run_key = ${runKey} WHERE run_key <> ${runKey};

  -- An event whose dispatch failed is set aside with its error; replayed, it is dispatched again.
  -- NOT VALID: every existing row holds, and checking them all would lock a large table for long.
  ALTER TABLE events DROP CONSTRAINT IF EXISTS events_status_check;
  ALTER TABLE events ADD CONSTRAINT events_status_check CHECK (status IN ('received', 'dispatched', 'failed')) NOT VALID;
  ALTER TABLE events ADD COLUMN dispatch_error text;
  CREATE INDEX events_set_aside ON events (seq) WHERE status = 'failed';

  -- /readyz writes this row to know that the store can write, not only answer.
  CREATE TABLE store_probe (
    id         integer PRIMARY KEY CHECK (id = 1),
    writes     bigint  NOT NULL
  );
  INSERT INTO store_probe (id, writes) VALUES (1, 0);
  `,
  `
  -- Dispatch order is seq order: events take their seq under a lock held until they commit (see
  -- src/store/postgres/inbox.ts). The inserting transaction's id no longer matters.
  CREATE INDEX events_received ON events (seq) WHERE status = 'received';
  DROP INDEX events_pending;
  `,
  // Data lifecycle — forget: the audit of erasures (who, when, how many rows; never the address).
  `
  CREATE TABLE erasures (
    id           text   PRIMARY KEY,
    requested_by text   NOT NULL,
    requested_at bigint NOT NULL,
    counts       text   NOT NULL
  );
  CREATE INDEX erasures_recent ON erasures (requested_at);
  `,
  `
  -- Data lifecycle (retention): the last prune for stats; (time, last seq) marks that date
  -- transcript messages once their events are gone; transcripts pruned in event order.
  CREATE TABLE prune_log (
    id          integer PRIMARY KEY CHECK (id = 1),
    finished_at bigint  NOT NULL,
    took_ms     bigint  NOT NULL,
    counts      text    NOT NULL
  );
  CREATE TABLE seq_marks (
    at  bigint PRIMARY KEY,
    seq bigint NOT NULL
  );
  CREATE INDEX transcript_by_seq ON transcript_messages (event_seq);
  `,
  // Flow control (issue 14): why a queued run waits (hold: rate:<connection> or circuit:<connection>),
  // the rate slots and the circuit of each connection, and the paused recipes.
  `
  ALTER TABLE runs ADD COLUMN hold text;
  CREATE INDEX runs_held ON runs (hold) WHERE hold IS NOT NULL;
  CREATE TABLE flow_rates (
    connection text     PRIMARY KEY,
    slots      bigint[] NOT NULL
  );
  CREATE TABLE flow_circuits (
    connection  text    PRIMARY KEY,
    state       text    NOT NULL,
    failures    integer NOT NULL,
    opened_at   bigint,
    reopen_at   bigint,
    probe_run   text,
    probe_until bigint,
    updated_at  bigint  NOT NULL
  );
  CREATE TABLE paused_recipes (
    recipe    text   PRIMARY KEY,
    paused_at bigint NOT NULL
  );
  `,
  // Issue 14, bulk replay, recipe versions, schedules (flow-b).
  `
  -- A run keeps the recipe version it started with: the compiled version's hash, and the source of
  -- every version a run used, so that a worker continues an old run with its old steps.
  ALTER TABLE runs ADD COLUMN recipe_version text;
  CREATE TABLE recipe_versions (
    recipe     text   NOT NULL,
    hash       text   NOT NULL,
    file       text   NOT NULL,
    source     text   NOT NULL,
    first_used bigint NOT NULL,
    PRIMARY KEY (recipe, hash)
  );

  -- Bulk replays and retries, each with its filter; what each one touched, so that doing it twice
  -- by mistake is visible (and needs --again).
  CREATE TABLE bulk_operations (
    id          text    PRIMARY KEY,
    kind        text    NOT NULL,
    filter      text    NOT NULL,
    again       boolean NOT NULL,
    created_at  bigint  NOT NULL,
    matched     integer NOT NULL DEFAULT 0,
    done        integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    finished_at bigint
  );
  CREATE TABLE bulk_items (
    kind         text NOT NULL,
    target       text NOT NULL,
    operation_id text NOT NULL REFERENCES bulk_operations (id),
    PRIMARY KEY (kind, target)
  );

  -- Schedules: one row per recipe and tick, whoever fires it first.
  CREATE TABLE schedule_ticks (
    recipe   text   NOT NULL,
    tick     bigint NOT NULL,
    fired_at bigint NOT NULL,
    PRIMARY KEY (recipe, tick)
  );
  `,
];

/**
 * Brings the schema up to date. Safe when several instances start at once: the first takes the
 * advisory lock and migrates, the others wait for it and then find nothing left to do.
 */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const client = await checkout(pool);
  try {
    // A migration may outlast statement_timeout on a big table, and so may waiting for another instance's.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1, $2)', lockKey('migrate', schema));
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const [index, sql] of migrations.entries()) {
      const version = index + 1;
      if (done.has(version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        await client.query('COMMIT');
      } catch (error) {
        throw new Error(`PostgreSQL migration ${version} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(version);
    }
    return applied;
  } finally {
    // The session ends here, and with it the advisory lock, the setting and any failed transaction.
    checkin(client, true);
  }
}
