// The store conformance suite on PostgreSQL, and what only a shared server has: transaction-ordered
// dispatch, LISTEN/NOTIFY, advisory locks, recovery from dropped connections, several processes.
// Skipped unless HOOKLINE_TEST_PG_URL is set.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.ts';
import { indexKey } from '../../src/store/index-key.ts';
import { lockKey } from '../../src/store/postgres/db.ts';
import { migrations } from '../../src/store/postgres/migrations.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import type { Store, Wake } from '../../src/store/types.ts';
import { describeStoreConformance } from './conformance.ts';
import { describeFlowConformance } from './flow-conformance.ts';
import { commit, createRuns, newEvent, receive, resolveWait, run, settle, T0 } from './fixtures.ts';
import { admin, createSchema, howToEnable, openInSchema, pgUrl, postgresHarness, urlWithSchema, type TestSchema } from './pg-harness.ts';

if (!pgUrl) {
  console.warn(`test/store/postgres.test.ts skipped: ${howToEnable}`);
  describe.skip(`PostgreSQL store (${howToEnable})`, () => {
    it('conformance suite, receive order, LISTEN/NOTIFY, advisory locks, recovery, several processes', () => {});
  });
} else {
  describeStoreConformance('postgres', postgresHarness);
  describeFlowConformance('postgres', postgresHarness);
  describePostgresOnly();
}

function describePostgresOnly() {
  /** Everything a test opened, closed and dropped after it, even when it fails. */
  let toClose: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of toClose.reverse()) await close().catch(() => {});
    toClose = [];
  });
  async function schema(): Promise<TestSchema> {
    const s = await createSchema();
    toClose.push(() => s.drop());
    return s;
  }
  async function open(url: string, options: Parameters<typeof openPostgresStore>[1] = {}): Promise<Store> {
    const store = await openPostgresStore(url, options);
    toClose.push(() => store.close());
    return store;
  }
  /** A URL whose connections carry their own application_name, to find (and terminate) them. */
  const tagged = (s: TestSchema) => {
    const name = `hl_test_${randomBytes(4).toString('hex')}`;
    return { name, url: urlWithSchema(pgUrl!, s.name, { application_name: name }) };
  };
  const terminate = (applicationName: string) =>
    admin(pgUrl!, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);

  describe('postgres: migrations', () => {
    it('records each version once; opening again changes nothing', async () => {
      const s = await schema();
      await open(s.url);
      const versions = () => admin<{ version: number }>(s.url, 'SELECT version FROM schema_migrations ORDER BY version');
      const expected = migrations.map((_, i) => ({ version: i + 1 }));
      expect(await versions()).toEqual(expected);
      await open(s.url);
      expect(await versions()).toEqual(expected);
    });

    it('lets several instances open a fresh schema at the same moment', async () => {
      const s = await schema();
      const stores = await Promise.all(Array.from({ length: 5 }, () => open(s.url, { poolSize: 2 })));
      expect(stores).toHaveLength(5);
      expect(await admin(s.url, 'SELECT version FROM schema_migrations')).toHaveLength(migrations.length);
    });

    it('rewrites conversation, message and run keys stored before index keys into their index keys, as indexKey does', async () => {
      const s = await schema();
      const before = migrations.findIndex((sql) => sql.includes('store_probe'));
      for (const [i, sql] of migrations.slice(0, before).entries()) {
        await admin(s.url, `${sql}; CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO schema_migrations (version) VALUES (${i + 1})`);
      }
      // What PostgreSQL could hold before: no NUL, under its index row limit.
      const values = ['conv_1', 'x'.repeat(201), 'é'.repeat(101), 'tab\there', 'new\nline', 'del\u007f', '~tilde', 'quote"back\\slash', 'ünïcödé ✓'];
      await admin(s.url, `INSERT INTO events (source, event_id, type, received_at, headers, body) VALUES ('muro', 'e', 't', 0, '{}', '{}')`);
      for (const [i, v] of values.entries()) {
        await admin(s.url, `INSERT INTO transcript_messages (conversation_id, message_id, event_seq, position, message) SELECT $1, $2, seq, 0, '{}' FROM events`, [v, `m${i}:${v}`]);
        await admin(s.url, `INSERT INTO runs (id, event_seq, recipe, run_key, status, available_at, created_at, updated_at) SELECT $1, seq, 'r', $2, 'done', 0, 0, 0 FROM events`, [`run${i}`, v]);
      }
      await open(s.url);
      const messages = await admin<{ conversation_id: string; message_id: string }>(s.url, 'SELECT conversation_id, message_id FROM transcript_messages ORDER BY message');
      const expected = values;
      expect(messages.map((m) => m.conversation_id).sort()).toEqual(expected.map(indexKey).sort());
      expect(messages.map((m) => m.message_id).sort()).toEqual(expected.map((v, i) => indexKey(`m${i}:${v}`)).sort());
      const keys = await admin<{ run_key: string }>(s.url, 'SELECT run_key FROM runs');
      expect(keys.map((r) => r.run_key).sort()).toEqual(expected.map(indexKey).sort());
    });

    it('refuses to open when the search_path names no existing schema', async () => {
      await expect(openPostgresStore(urlWithSchema(pgUrl!, 'hl_test_no_such_schema'))).rejects.toThrow(/no existing schema/);
    });

    it('rejects with a clear error, without the password, when the server cannot be reached', async () => {
      const failed = await settle(openPostgresStore('postgres://hookline:s3cret@127.0.0.1:1/test', { statementTimeoutMs: 1_000 }));
      expect(failed.ok).toBe(false);
      const message = failed.ok ? '' : (failed.error as Error).message;
      expect(message).toContain('127.0.0.1:1/test');
      expect(message).not.toContain('s3cret');
    });
  });

  describe('postgres: dispatch order', () => {
    /** A connection of its own, closed after the test. */
    async function connect(url: string) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      toClose.push(() => client.end());
      return client;
    }
    /** Resolves once some session waits for an advisory lock of this database (a receive queued behind the order lock). */
    const someoneWaitsForALock = (url: string) =>
      expect
        .poll(async () => (await admin<{ n: string }>(url, `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`))[0]!.n, {
          timeout: 10_000,
          interval: 10,
        })
        .toBe('1');

    it('a transaction left open elsewhere on the server does not hold dispatch back', async () => {
      const s = await schema();
      const store = await open(s.url);
      // Another application's write transaction on the same server (here, the same database), left open.
      const foreign = await connect(pgUrl!);
      await foreign.query('BEGIN');
      await foreign.query('SELECT pg_current_xact_id()');
      const seq = await receive(store);
      const started = performance.now();
      expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([seq]);
      expect(performance.now() - started).toBeLessThan(200);
      await foreign.query('ROLLBACK');
    });

    it('events take their place in the order when they commit: a receive waits for one committing before it', async () => {
      const s = await schema();
      const store = await open(s.url);
      // A receive of another instance, stopped between taking its place in the order and committing.
      const other = await connect(s.url);
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey('order', s.name));
      const { rows } = await other.query<{ seq: string }>(
        `INSERT INTO events (source, event_id, type, received_at, headers, body) VALUES ('muro', 'other', 'message.created', $1, '{}', '{}') RETURNING seq`,
        [T0],
      );
      const early = Number(rows[0]!.seq);
      const late = receive(store);
      await someoneWaitsForALock(s.url);
      expect(await store.dispatch.pending(10)).toEqual([]);
      await other.query('COMMIT');
      expect(await late).toBeGreaterThan(early);
      expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([early, await late]);
    });

    it('a receive that began first but commits last comes last, and the look-back of an earlier event sees it', async () => {
      const s = await schema();
      const store = await open(s.url);
      const trigger = await receive(store);
      // `first` remembers its id before the store's receive, but commits after it.
      const first = await connect(s.url);
      await first.query('BEGIN');
      await first.query(`INSERT INTO seen_events (source, event_id, seen_at, expires_at) VALUES ('muro', 'first', $1, $1)`, [T0 + 1_000]);
      const second = await receive(store);
      await first.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey('order', s.name));
      const { rows } = await first.query<{ seq: string }>(
        `INSERT INTO events (source, event_id, type, received_at, headers, body) VALUES ('muro', 'first', 'message.created', $1, '{}', '{}') RETURNING seq`,
        [T0],
      );
      const firstSeq = Number(rows[0]!.seq);
      await first.query('COMMIT');
      expect(firstSeq).toBeGreaterThan(second);
      expect((await store.dispatch.pending(10)).map((e) => e.seq)).toEqual([trigger, second, firstSeq]);
      expect((await store.waits.lookBack({ after: trigger, source: 'muro', limit: 10 })).map((e) => e.seq)).toEqual([second, firstSeq]);
    });
  });

  describe('postgres: receive', () => {
    it('stores an id with a NUL character, and a row the server refuses fails alone, not its batch', async () => {
      const s = await schema();
      const store = await open(s.url);
      const withNul = newEvent({ eventId: `nul\u0000${Date.now()}` });
      expect((await store.inbox.receive(withNul, 1_000)).duplicate).toBe(false);
      expect(await store.inbox.receive(withNul, 1_000)).toEqual({ duplicate: true });
      expect(await store.read.receipts(withNul.eventId)).toHaveLength(1);
      // Text cannot hold a raw NUL: that body is refused, and only that one.
      const events = Array.from({ length: 12 }, (_, i) => newEvent(i === 7 ? { body: 'raw \0 nul' } : {}));
      const results = await Promise.all(events.map((e) => settle(store.inbox.receive(e, 1_000))));
      expect(results.map((r) => r.ok)).toEqual(events.map((_, i) => i !== 7));
      expect(results[7]!.ok ? undefined : (results[7]!.error as Error).name).toBe('StoreUnavailableError');
      expect(await store.read.eventCount()).toBe(12);
    });
  });

  describe('postgres: tables', () => {
    it('types columns by their first value and refuses later values that do not fit', async () => {
      const s = await schema();
      const store = await open(s.url);
      const row = { amount: 1.5, vip: true, doc: { tags: ['a'], n: 1 }, name: 'Ann' } as never;
      expect(await store.records.tables.insert({ table: 'typed', row, idempotencyKey: 'k1', now: T0 })).toBe(true);
      const columns = await admin<{ column_name: string; data_type: string }>(
        s.url,
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'typed' ORDER BY ordinal_position`,
        [s.name],
      );
      expect(columns.map((c) => [c.column_name, c.data_type])).toEqual([
        ['row_id', 'bigint'],
        ['stored_at', 'bigint'],
        ['idempotency_key', 'text'],
        ['amount', 'double precision'],
        ['vip', 'boolean'],
        ['doc', 'jsonb'],
        ['name', 'text'],
      ]);
      expect((await store.read.tableRows('typed', 1))[0]).toMatchObject({ amount: 1.5, vip: true, doc: { tags: ['a'], n: 1 }, name: 'Ann' });
      const amount = await settle(store.records.tables.insert({ table: 'typed', row: { amount: 'twelve' }, idempotencyKey: 'k2', now: T0 }));
      expect(amount.ok ? undefined : amount.error).toBeInstanceOf(NonRetryableError);
      expect(amount.ok ? '' : (amount.error as Error).message).toMatch(/column "amount" of table "typed" holds double precision/);
      await expect(store.records.tables.insert({ table: 'typed', row: { vip: 1 }, idempotencyKey: 'k3', now: T0 })).rejects.toBeInstanceOf(NonRetryableError);
      await expect(store.records.tables.insert({ table: 'typed', row: { name: 'nul\0byte' }, idempotencyKey: 'k4', now: T0 })).rejects.toBeInstanceOf(NonRetryableError);
      // What converts without loss is stored.
      expect(await store.records.tables.insert({ table: 'typed', row: { name: 42, doc: 'text' }, idempotencyKey: 'k5', now: T0 })).toBe(true);
      expect((await store.read.tableRows('typed', 1))[0]).toMatchObject({ name: '42', doc: 'text', amount: null });
      // The names of its key index and row_id sequence are taken.
      for (const taken of ['typed_pkey', 'typed_idempotency_key_key', 'typed_row_id_seq']) {
        await expect(store.records.tables.insert({ table: taken, row: { a: 1 }, idempotencyKey: 'k', now: T0 }), taken).rejects.toBeInstanceOf(NonRetryableError);
      }
    });

    it('lets two instances create the same table and columns at the same moment', async () => {
      const s = await schema();
      const [a, b] = [await open(s.url), await open(s.url)];
      const results = await Promise.all([
        a.records.tables.insert({ table: 'shared', row: { x: 1, y: 'a' }, idempotencyKey: 'ka', now: T0 }),
        b.records.tables.insert({ table: 'shared', row: { x: 2, z: true }, idempotencyKey: 'kb', now: T0 }),
        a.records.tables.insert({ table: 'shared', row: { w: 'w' }, idempotencyKey: 'kc', now: T0 }),
      ]);
      expect(results).toEqual([true, true, true]);
      expect((await a.read.tableRows('shared', 10)).map((r) => r.idempotency_key).sort()).toEqual(['ka', 'kb', 'kc']);
      // b learns of the column that a added.
      expect(await b.records.tables.insert({ table: 'shared', row: { w: 'again', y: 'b' }, idempotencyKey: 'kd', now: T0 })).toBe(true);
    });
  });

  describe('postgres: subscribe', () => {
    /** Collects wake-ups. */
    function recorder(store: Store) {
      const got: Wake[] = [];
      store.subscribe((what) => got.push(what));
      return got;
    }
    /**
     * LISTEN starts in the background: sends a receive until the listener hears one, leaving each
     * long enough to be heard, so that no late wake-up of this warm-up lands in the test's record.
     */
    async function untilListening(got: Wake[], sender: Store) {
      for (let i = 0; i < 25; i++) {
        await receive(sender);
        const heard = await expect
          .poll(() => got.length, { timeout: 200, interval: 5 })
          .toBeGreaterThan(0)
          .then(() => true, () => false);
        if (heard) {
          got.length = 0;
          return;
        }
      }
      throw new Error('the listener never heard a wake-up');
    }

    it('wakes other instances of the same schema on new events and runs made due, not itself', async () => {
      const s = await schema();
      const other = await schema();
      const [a, b, c, d] = [await open(s.url), await open(s.url), await open(other.url), await open(other.url)];
      const got = recorder(a);
      const gotOther = recorder(c);
      await untilListening(got, b);
      await untilListening(gotOther, d);

      // Notifications reach a listener in commit order: a's own would arrive before b's.
      await receive(a);
      await receive(b);
      await expect.poll(() => got.length).toBeGreaterThan(0);
      expect(got).toEqual(['events']);

      got.length = 0;
      await createRuns(b, [run('r1')], T0);
      await expect.poll(() => got).toContain('runs');

      // c, on another schema, heard none of it: only its own schema's wake-up.
      await receive(d);
      await expect.poll(() => gotOther.length).toBeGreaterThan(0);
      expect(gotOther).toEqual(['events']);
    });

    it('wakes for waits resolved or expired, runs retried or released, and replays', async () => {
      const s = await schema();
      const [a, b] = [await open(s.url), await open(s.url)];
      const got = recorder(a);
      await untilListening(got, b);
      const seq = await createRuns(b, [run('p1'), run('p2'), run('d1', { status: 'dead', error: 'x' })], T0);
      await b.queue.claim({ owner: 'w', now: T0, leaseMs: 1_000, limit: 2 });
      await b.queue.park({ runId: 'p1', owner: 'w' }, { wait: { stepId: 's', source: 'muro', type: '*', deadline: T0 + 10 }, now: T0 });
      await b.queue.park({ runId: 'p2', owner: 'w' }, { wait: { stepId: 's', source: 'muro', type: '*', deadline: T0 + 10 }, now: T0 });
      const wakes: Array<[string, () => Promise<unknown>, Wake]> = [
        ['resolve', () => resolveWait(b, { runId: 'p1', stepId: 's', output: {} }, T0 + 1), 'runs'],
        ['expire', () => b.waits.expire(T0 + 10, 10), 'runs'],
        ['retry', () => b.operations.retryRun('d1', T0 + 11), 'runs'],
        ['releaseOwner', async () => (await b.queue.claim({ owner: 'w2', now: T0 + 11, leaseMs: 1_000, limit: 1 }), b.queue.releaseOwner('w2', T0 + 12)), 'runs'],
        [
          'release',
          async () => {
            const [r] = await b.queue.claim({ owner: 'w3', now: T0 + 12, leaseMs: 1_000, limit: 1 });
            await b.queue.release({ runId: r!.id, owner: 'w3' }, { availableAt: T0 + 12, now: T0 + 12 });
          },
          'runs',
        ],
        ['replay', () => b.operations.replay(seq), 'events'],
      ];
      for (const [name, act, what] of wakes) {
        got.length = 0;
        await act();
        await expect.poll(() => got, { message: name }).toContain(what);
      }
    });

    it('listens again after its connection drops, and wakes its listeners then', async () => {
      const s = await schema();
      const tag = tagged(s);
      const [a, b] = [await open(tag.url), await open(s.url)];
      const got = recorder(a);
      await untilListening(got, b);
      await terminate(tag.name);
      // Missed notifications cannot be known: a reconnect wakes both kinds of worker.
      await expect.poll(() => [...new Set(got)].sort(), { timeout: 10_000 }).toEqual(['events', 'runs']);
      got.length = 0;
      await receive(b);
      await expect.poll(() => got).toContain('events');
    });
  });

  describe('postgres: recovery', () => {
    it('works again by itself after its connections are terminated', async () => {
      const s = await schema();
      const tag = tagged(s);
      const store = await open(tag.url, { poolSize: 4 });
      await Promise.all(Array.from({ length: 8 }, () => receive(store)));
      expect((await terminate(tag.name)).length).toBeGreaterThan(0);
      // A call may meet a connection whose end it has not heard of yet; the pool replaces it.
      await expect.poll(async () => (await settle(store.ping())).ok, { timeout: 10_000, interval: 50 }).toBe(true);
      for (let i = 0; i < 10; i++) await receive(store);
      expect(await store.read.eventCount()).toBe(18);
    });

    it('answers receive with StoreUnavailableError when a statement times out, then works again', async () => {
      // Covered by the conformance suite through a TCP proxy; here: the statement timeout.
      const s = await schema();
      const store = await open(s.url, { statementTimeoutMs: 300 });
      const blocker = new pg.Client({ connectionString: s.url });
      await blocker.connect();
      toClose.push(() => blocker.end());
      const e = newEvent();
      // Another transaction holds the seen-record of this id: the receive waits on it, past the timeout.
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO seen_events (source, event_id, seen_at, expires_at) VALUES ($1, $2, $3, $3)`, [e.source, e.eventId, T0 + 1]);
      const failed = await settle(store.inbox.receive(e, 1_000));
      expect(failed.ok ? undefined : (failed.error as Error).name).toBe('StoreUnavailableError');
      await blocker.query('ROLLBACK');
      expect((await store.inbox.receive(e, 1_000)).duplicate).toBe(false);
    });
  });

  describe('postgres: close', () => {
    it('ends its pools and its LISTEN connection', async () => {
      const s = await schema();
      const tag = tagged(s);
      const store = await openPostgresStore(tag.url);
      store.subscribe(() => {});
      await Promise.all([receive(store), store.dispatch.withLock(async () => store.ping())]);
      const connections = () => admin<{ name: string }>(pgUrl!, 'SELECT application_name AS name FROM pg_stat_activity WHERE application_name = $1', [tag.name]);
      await expect.poll(async () => (await connections()).length).toBeGreaterThanOrEqual(3);
      await store.close();
      await store.close();
      await expect.poll(async () => (await connections()).length).toBe(0);
    });
  });

  describe('postgres: dispatch lock', () => {
    const waitingForLock = (s: TestSchema) =>
      admin<{ n: string }>(s.url, `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1::int::oid`, [0x686c0002]).then(
        (r) => Number(r[0]?.n),
      );

    it('excludes the other instances until the holder is done', async () => {
      const s = await schema();
      const [a, b] = [await open(s.url), await open(s.url)];
      let release!: () => void;
      let aIn = false;
      const aHeld = a.dispatch.withLock(
        () =>
          new Promise<void>((resolve) => {
            aIn = true;
            release = resolve;
          }),
      );
      await expect.poll(() => aIn).toBe(true);
      let bIn = false;
      const bHeld = b.dispatch.withLock(async () => {
        bIn = true;
        return 'b';
      });
      await expect.poll(() => waitingForLock(s)).toBe(1);
      expect(bIn).toBe(false);
      release();
      await aHeld;
      expect(await bHeld).toBe('b');
    });

    it('is released when the holder’s connection dies', async () => {
      const s = await schema();
      const tag = tagged(s);
      const [a, b] = [await open(tag.url), await open(s.url)];
      let release!: () => void;
      let aIn = false;
      const aHeld = settle(
        a.dispatch.withLock(
          () =>
            new Promise<void>((resolve) => {
              aIn = true;
              release = resolve;
            }),
        ),
      );
      await expect.poll(() => aIn).toBe(true);
      const bHeld = b.dispatch.withLock(async () => 'b');
      await expect.poll(() => waitingForLock(s)).toBe(1);
      await terminate(tag.name);
      expect(await bHeld).toBe('b');
      release();
      await aHeld;
      // a's next turn works on a new connection.
      expect(await a.dispatch.withLock(async () => 'a again')).toBe('a again');
    });
  });

  describe('postgres: several processes', () => {
    const script = fileURLToPath(new URL('./pg-child.ts', import.meta.url));

    /** Starts a pg-child.ts process; `go` releases it, `result` is the JSON line it prints. */
    function child(args: string[], now: number) {
      const proc = spawn(process.execPath, [script, ...args], { env: { ...process.env, CHILD_NOW: String(now) }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const lines = createInterface({ input: proc.stdout });
      const output: string[] = [];
      let onReady!: () => void;
      const ready = new Promise<void>((resolve) => (onReady = resolve));
      lines.on('line', (line) => (line === 'ready' ? onReady() : output.push(line)));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
      toClose.push(async () => {
        if (proc.exitCode === null) proc.kill('SIGKILL');
      });
      return {
        ready: Promise.race([ready, exited.then((code) => Promise.reject(new Error(`child exited (${code}) before ready:\n${stderr}`)))]),
        go: () => proc.stdin.end('go\n'),
        result: exited.then((code) => {
          if (code !== 0) throw new Error(`child exited with ${code}:\n${stderr}`);
          return JSON.parse(output.at(-1) ?? 'null') as Record<string, string[] | boolean>;
        }),
      };
    }
    async function race<T extends ReturnType<typeof child>>(children: T[]) {
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      return Promise.all(children.map((c) => c.result));
    }

    it('two processes claiming one queue never claim a run twice', async () => {
      const s = await schema();
      const store = await open(s.url);
      const ids = Array.from({ length: 150 }, (_, i) => `r${String(i).padStart(3, '0')}`);
      for (let i = 0; i < ids.length; i += 50) await createRuns(store, ids.slice(i, i + 50).map((id) => run(id)), T0);
      const [p1, p2] = await race([child([s.url, 'claim', 'p1'], T0 + 1), child([s.url, 'claim', 'p2'], T0 + 1)]);
      const one = p1!.claimed as string[];
      const two = p2!.claimed as string[];
      expect(one.filter((id) => two.includes(id))).toEqual([]);
      expect([...one, ...two].sort()).toEqual(ids);
      expect(await store.read.runCounts()).toEqual({ done: 150 });
    });

    it('two processes expiring the same waits time each out once', async () => {
      const s = await schema();
      const store = await open(s.url);
      const ids = Array.from({ length: 90 }, (_, i) => `w${String(i).padStart(3, '0')}`);
      await createRuns(store, ids.map((id) => run(id)), T0);
      for (const r of await store.queue.claim({ owner: 'parent', now: T0, leaseMs: 60_000, limit: ids.length })) {
        await store.queue.park({ runId: r.id, owner: 'parent' }, { wait: { stepId: 'wait', source: 'muro', type: '*', deadline: T0 + 10 }, now: T0 });
      }
      const [p1, p2] = await race([child([s.url, 'expire'], T0 + 10), child([s.url, 'expire'], T0 + 10)]);
      const one = p1!.expired as string[];
      const two = p2!.expired as string[];
      expect(one.filter((id) => two.includes(id))).toEqual([]);
      expect([...one, ...two].sort()).toEqual(ids);
      expect(await store.read.runCounts()).toEqual({ queued: 90 });
    });

    it('three processes opening (migrating) a fresh schema at the same moment all succeed', async () => {
      const s = await schema();
      const results = await race([child([s.url, 'open'], T0), child([s.url, 'open'], T0), child([s.url, 'open'], T0)]);
      expect(results).toEqual([{ opened: true }, { opened: true }, { opened: true }]);
      expect(await admin(s.url, 'SELECT version FROM schema_migrations')).toHaveLength(migrations.length);
    });

    it('a dispatch commit of one event by two processes at once: one wins, the other changes nothing', async () => {
      // In-process stand-in for two instances: separate stores, separate pools, one database.
      const s = await schema();
      const [a, b] = [await open(s.url), await open(s.url)];
      for (let i = 0; i < 20; i++) {
        const seq = await receive(a);
        const [x, y] = await Promise.all([commit(a, seq, { runs: [run(`a${i}`, { key: `k${i}` })] }), commit(b, seq, { runs: [run(`b${i}`, { key: `k${i}` })] })]);
        expect([x.created.length, y.created.length].sort()).toEqual([0, 1]);
      }
      expect(await a.read.runCounts()).toEqual({ queued: 20 });
    });
  });
}
