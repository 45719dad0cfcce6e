import { eventSummaryColumns, toAttempt, toEvent, toEventSummary, toRun, toStep, type AttemptRow, type EventRow, type RunRow, type StepRow } from '../rows.ts';
import type { EventFilter, ReadModel, RunDetail, RunFilter, RunStatus } from '../types.ts';
import { clean, type Db } from './db.ts';
import { eventColumns } from './inbox.ts';
import { attemptsOf, qualified, runColumns, stepsOf } from './queue.ts';

/** SQLite's GLOB (* ? and [...] classes, case-sensitive) as an anchored POSIX regular expression. */
export function globToRegex(glob: string): string {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      // A ']' right after '[' or '[^' belongs to the class, as in GLOB.
      let j = i + 1;
      if (glob[j] === '^') j++;
      if (glob[j] === ']') j++;
      const end = glob.indexOf(']', j);
      if (end === -1) {
        out += '\\[';
      } else {
        out += `[${glob.slice(i + 1, end).replaceAll('\\', '\\\\')}]`;
        i = end;
      }
    } else out += /[.+(){}|^$\\\]]/.test(c) ? `\\${c}` : c;
  }
  return `${out}$`;
}

export function eventListSql(f: EventFilter): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (f.source !== undefined) where.push(`source = ${param(f.source)}`);
  if (f.type !== undefined) where.push(/[*?[]/.test(f.type) ? `type ~ ${param(globToRegex(f.type))}` : `type = ${param(f.type)}`);
  if (f.before !== undefined) where.push(`seq < ${param(f.before)}`);
  if (f.search !== undefined) {
    const p = param(f.search);
    where.push(`(event_id = ${p} OR strpos(body, ${p}) > 0)`);
  }
  const text = `SELECT ${eventSummaryColumns} FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq DESC LIMIT ${param(f.limit ?? 50)}`;
  return { text, values };
}

export function runListSql(f: RunFilter): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (f.status !== undefined) where.push(`status = ${param(f.status)}`);
  if (f.recipe !== undefined) where.push(`recipe = ${param(f.recipe)}`);
  if (f.before !== undefined) where.push(`id < ${param(f.before)}`);
  const text = `SELECT ${runColumns} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY id DESC LIMIT ${param(f.limit ?? 50)}`;
  return { text, values };
}

const detailSql = (where: string) => `
  SELECT ${qualified('r')}, ${stepsOf('r.id')}, ${attemptsOf('r.id')}
  FROM runs r WHERE ${where} ORDER BY r.id`;

type DetailRow = RunRow & { steps: StepRow[]; attempts: AttemptRow[] };
const toDetail = (row: DetailRow): RunDetail => ({ ...toRun(row), steps: row.steps.map(toStep), attempts: row.attempts.map(toAttempt) });

/** The first event waiting for its first dispatch (a replay keeps its old received_at), and how many are set aside. */
const backlogSql = `
  SELECT (SELECT received_at FROM events WHERE status = 'received' AND generation = 0 ORDER BY seq LIMIT 1) AS oldest,
         (SELECT count(*) FROM events WHERE status = 'failed') AS set_aside`;

/** Events, runs and dispatch as operators see them; tickets and tables come from their own files. */
export function postgresReadModel(db: Db): Omit<ReadModel, 'tickets' | 'ticket' | 'tableRows'> {
  const { pool } = db;
  return {
    events: async (filter) => (await pool.query<EventRow>(eventListSql(filter))).rows.map(toEventSummary),
    receipts: async (eventId, source) => {
      const { rows } = await pool.query<EventRow>(
        `SELECT ${eventColumns} FROM events WHERE event_id = $1 AND ($2::text IS NULL OR source = $2) ORDER BY seq DESC`,
        [clean(eventId), clean(source)],
      );
      return rows.map(toEvent);
    },
    event: async (seq) => {
      const { rows } = await pool.query<EventRow>(`SELECT ${eventColumns} FROM events WHERE seq = $1`, [seq]);
      return rows[0] && toEvent(rows[0]);
    },
    eventCount: async () => Number((await pool.query<{ n: number }>('SELECT count(*) AS n FROM events')).rows[0]?.n ?? 0),
    runs: async (filter) => (await pool.query<RunRow>(runListSql(filter))).rows.map(toRun),
    run: async (runId) => {
      const { rows } = await pool.query<DetailRow>(detailSql('r.id = $1'), [runId]);
      return rows[0] && toDetail(rows[0]);
    },
    runsOfEvent: async (eventSeq) => (await pool.query<DetailRow>(detailSql('r.event_seq = $1'), [eventSeq])).rows.map(toDetail),
    runsOfEvents: async (eventSeqs) =>
      eventSeqs.length === 0
        ? []
        : (await pool.query<RunRow>(`SELECT ${runColumns} FROM runs WHERE event_seq = ANY($1::bigint[]) ORDER BY id`, [eventSeqs])).rows.map(toRun),
    runCounts: async () => {
      const { rows } = await pool.query<{ status: RunStatus; n: number }>('SELECT status, count(*) AS n FROM runs GROUP BY status');
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
    backlog: async () => {
      const row = (await pool.query<{ oldest: number | null; set_aside: number }>(backlogSql)).rows[0];
      return { oldestPending: row?.oldest ?? undefined, setAside: Number(row?.set_aside ?? 0) };
    },
  };
}
