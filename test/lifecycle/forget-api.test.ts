// POST /admin/forget and GET /admin/erasures on a running hookline, after real events went through
// the receiver, the dispatcher (transcripts) and a recipe's `store` step; and `hookline forget` on the CLI.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { mentionPattern, mentions } from '../../src/lifecycle/address.ts';
import { describeBackends } from '../helpers/backends.ts';
import { bin, writeChildConfig } from '../helpers/child.ts';
import { tempDir } from '../helpers/env.ts';
import { message, postMuro, writeRecipe } from '../helpers/recipes.ts';
import { send, startTestHookline, type TestHookline } from '../helpers/server.ts';
import { muroEvent } from '../helpers/sign.ts';
import { everyTableText } from './open.ts';

const TOKEN = 'forget-test-token';
const DANA = 'dana@bigcustomer.example';
const run = promisify(execFile);

let hl: TestHookline | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await hl?.stop();
  hl = undefined;
  cleanup?.();
});

const recipe = `on: muro/conversation.closed
steps:
  - id: save
    store:
      table: conversation_summaries
      row: { conversation_id: "{{ data.conversation.id }}", visitor_email: "{{ data.visitor.email ? data.visitor.email : null }}", summary: "{{ $count($conversation.messages) }} messages" }
`;

describeBackends('POST /admin/forget', (backend) => {
  it('erases the person from what the pipeline stored, answers the counts, and lists the audit entry', async () => {
    const temp = tempDir();
    cleanup = temp.cleanup;
    writeRecipe(temp.dir, 'summaries', recipe);
    hl = await startTestHookline({ dir: temp.dir, backend, overrides: { admin: { token: TOKEN } } as never });
    const admin = (method: string, path: string, body?: unknown, token = TOKEN) =>
      send(`${hl!.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    await postMuro(hl, message('conv_dana', 'visitor', 'my card was charged twice'));
    await postMuro(hl, message('conv_dana', 'agent', 'refunded'));
    // closed without the visitor: found through the conversation
    await postMuro(hl, muroEvent('evt_closed_dana', 'conversation.closed', { conversation: { id: 'conv_dana' } }));
    const kim = message('conv_kim', 'visitor', 'hello', { visitor: { id: 'vis_2', name: 'Kim', email: 'kim@third.example' } });
    await postMuro(hl, kim);
    await postMuro(hl, muroEvent('evt_closed_kim', 'conversation.closed', { conversation: { id: 'conv_kim' }, visitor: { email: 'kim@third.example' } }));
    await hl.worker.drain();
    expect((await admin('GET', '/admin/summaries')).json.summaries).toHaveLength(2);

    expect((await admin('POST', '/admin/forget', { email: DANA }, 'wrong')).status).toBe(401);
    for (const bad of [{}, { email: 'nobody' }, { email: 42 }, { email: DANA, dry_run: 'yes' }, [DANA]]) {
      const answer = await admin('POST', '/admin/forget', bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.json).toMatchObject({ ok: false, code: 'HL_BAD_REQUEST' });
    }
    const dry = await admin('POST', '/admin/forget', { email: DANA, dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ ok: true, dry_run: true, counts: { events: 3, runs: 1, transcript_messages: 2, tables: { conversation_summaries: 1 } } });
    expect(dry.json.id).toBeUndefined();

    const done = await admin('POST', '/admin/forget', { email: 'DANA@bigcustomer.example' });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ ok: true, dry_run: false, id: expect.any(String), counts: dry.json.counts });
    for (const [table, text] of await everyTableText(backend, hl.db)) expect(mentions(text, mentionPattern(DANA)), table).toBe(false);
    expect((await admin('GET', '/admin/summaries')).json.summaries.map((s: { conversation_id: string }) => s.conversation_id)).toEqual(['conv_kim']);
    expect((await admin('GET', '/admin/events')).json.events.map((e: { id: string }) => e.id).sort()).toEqual([kim.id, 'evt_closed_kim'].sort());

    const erasures = await admin('GET', '/admin/erasures');
    expect(erasures.json.erasures).toEqual([{ id: done.json.id, requested_by: 'admin', requested_at: expect.stringMatching(/^\d{4}-/), counts: done.json.counts }]);
    expect(JSON.stringify(erasures.json)).not.toContain('dana');
  });
});

it('hookline forget: --dry-run counts, erases, --list prints the audit; a bad address exits 2', async () => {
  const temp = tempDir();
  cleanup = temp.cleanup;
  writeRecipe(temp.dir, 'summaries', recipe);
  hl = await startTestHookline({ dir: temp.dir });
  await postMuro(hl, message('conv_dana', 'visitor', 'hello'));
  await hl.worker.drain();
  await hl.close();
  const config = writeChildConfig(temp.dir);
  const cli = (args: string[]) =>
    run(process.execPath, [bin, ...args, '--config', config], { cwd: temp.dir }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  expect(await cli(['forget', '--email', DANA, '--dry-run'])).toMatchObject({ code: 0, stdout: 'dry run, nothing erased; would erase: events 1, transcript messages 1\n' });
  const done = await cli(['forget', '--email', DANA]);
  expect(done.code).toBe(0);
  expect(done.stdout).toMatch(/^erased: events 1, transcript messages 1\naudit entry [0-9a-f-]{36} \(hookline forget --list\)\n$/);
  const list = await cli(['forget', '--list']);
  expect(list.stdout).toMatch(/WHEN\s+BY\s+REQUEST\s+ERASED\n\S+ \S+\s+cli:\S+\s+[0-9a-f-]{36}\s+events 1, transcript messages 1\n/);
  expect(JSON.parse((await cli(['forget', '--list', '--json'])).stdout)).toMatchObject({ requested_by: expect.stringMatching(/^cli:/), counts: { events: 1 } });
  expect(await cli(['forget', '--email', 'not-an-address'])).toMatchObject({ code: 2, stderr: expect.stringContaining('is not an email address') });
  expect((await cli(['forget'])).code).toBe(2);
});
