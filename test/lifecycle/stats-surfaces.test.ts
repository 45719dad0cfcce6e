// `hookline stats` (text and --json), GET /admin/stats and the /metrics gauges, on a real server
// and a real child process, both backends.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.ts';
import { bin, writeChildConfig } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { message, postMuro } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';

const TOKEN = 'admin-test-token';
const run = promisify(execFile);

describeBackends('data lifecycle: stats', (backend) => {
  let temp: ReturnType<typeof tempDir>;
  let hl: TestHookline;
  beforeAll(async () => {
    temp = tempDir();
    hl = await startTestHookline({ dir: temp.dir, backend, worker: false, overrides: { admin: { token: TOKEN } } as never });
    for (let i = 0; i < 3; i++) await postMuro(hl, message('conv_stats', 'visitor', `hello ${i}`));
  });
  afterAll(async () => {
    await hl?.stop();
    temp?.cleanup();
  });

  it('GET /admin/stats: rows and bytes per kind, database and attachment sizes, oldest event, last prune', async () => {
    expect((await send(`${hl.url}/admin/stats`, { method: 'GET' })).status).toBe(401);
    const answer = await send(`${hl.url}/admin/stats`, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answer.status).toBe(200);
    const s = answer.json;
    expect(s.backend).toBe(backend.name);
    expect(s.kinds.events).toEqual({ rows: 3, bytes: expect.any(Number) });
    expect(s.kinds.runs.rows).toBe(0);
    expect(s.tables.seen_events.rows).toBe(3);
    expect(s.database.bytes).toBeGreaterThan(0);
    expect(s.attachments).toMatchObject({ files: 0, bytes: 0 });
    expect(s.oldest_event.age_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(s.oldest_event.received_at)).toBeLessThanOrEqual(Date.now());
    expect(s.last_prune).toBeNull();
  });

  it('/metrics carries the gauges', async () => {
    const text = (await send(`${hl.url}/metrics`, { method: 'GET' })).text;
    expect(text).toMatch(/^hookline_store_rows\{kind="events"\} 3$/m);
    expect(text).toMatch(/^hookline_store_bytes\{kind="events"\} \d+$/m);
    expect(text).toMatch(/^hookline_store_database_bytes [1-9]\d*$/m);
    expect(text).toMatch(/^hookline_attachments_bytes 0$/m);
    expect(text).toMatch(/^hookline_oldest_event_age_seconds \d+$/m);
    expect(text).toMatch(/^hookline_last_prune_timestamp_seconds 0$/m);
  });

  it('hookline stats, and --json as the admin API answers', async () => {
    writeChildConfig(temp.dir, '', hl.db.url);
    const json = JSON.parse((await run(process.execPath, [bin, 'stats', '--json'], { cwd: temp.dir })).stdout);
    expect(json.kinds.events.rows).toBe(3);
    expect(json.backend).toBe(backend.name);
    const text = (await run(process.execPath, [bin, 'stats'], { cwd: temp.dir })).stdout;
    expect(text).toMatch(/^events\s+3\s+\d/m);
    expect(text).toMatch(/^database \((sqlite|postgres)\): /m);
    expect(text).toMatch(/^last prune: never$/m);
  });
});
