import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { attachmentPath } from '../../src/domain/attachments.ts';
import { MERU_SECRET } from '../helpers/env.ts';
import { describeBackends } from '../helpers/backends.ts';
import { sample, startWithShippedRecipes, type Integration } from '../helpers/integration.ts';
import { send } from '../helpers/server.ts';
import { meruHeaders } from '../helpers/sign.ts';

let it_: Integration | undefined;
afterEach(async () => {
  await it_?.stop();
  it_ = undefined;
});

async function postMeru(event: Record<string, unknown>) {
  const body = JSON.stringify(event);
  const started = performance.now();
  const answer = await send(`${it_!.hl.url}/meru/webhook`, { body, headers: meruHeaders(body, MERU_SECRET, { t: Math.floor(it_!.clock.now() / 1000) }) });
  return { ...answer, ms: performance.now() - started };
}

const tickets = () => it_!.hl.store.read.tickets({});

describeBackends('integrations: tickets from email', (backend) => {
  const shipped = (overrides: Parameters<typeof startWithShippedRecipes>[0] = {}, at?: number) => startWithShippedRecipes(overrides, at, backend);

  describe('tickets from inbound email', () => {
    it('a new email opens a ticket with its customer and attachment; a reply joins it; spam creates nothing', async () => {
      it_ = await shipped({}, Date.parse('2026-11-20T11:02:00Z'));
      expect((await postMeru(sample('meru/email.new-request'))).status).toBe(200);
      await it_.hl.worker.drain();
      const [ticket] = await tickets();
      expect(ticket).toMatchObject({ subject: 'Invoice INV-2291 shows the wrong VAT rate', status: 'open', customer: { email: 'jordan.lee@client.example', name: 'Jordan Lee' }, messageCount: 1 });

      it_.clock.set(Date.parse('2026-11-20T12:30:00Z'));
      await postMeru(sample('meru/email.reply'));
      await postMeru(sample('meru/email.spam'));
      await it_.hl.worker.drain();
      expect(await tickets()).toHaveLength(1);
      const detail = await it_.hl.store.read.ticket(ticket!.id);
      expect(detail!.messages.map((m) => m.subject)).toEqual(['Invoice INV-2291 shows the wrong VAT rate', 'Re: Invoice INV-2291 shows the wrong VAT rate']);
      const png = Buffer.from(sample('meru/email.new-request').attachments[0].content, 'base64');
      const sha = createHash('sha256').update(png).digest('hex');
      expect(detail!.messages[0]!.attachments).toEqual([{ filename: 'invoice-screenshot.png', contentType: 'image/png', size: png.length, sha256: sha, saved: true, contentId: null }]);
      expect(readFileSync(attachmentPath(it_.hl.config.attachments, sha))).toEqual(png);
      // Spam: no ticket, no customer for the spammer, nothing saved.
      expect((await it_.hl.store.read.tickets({ search: 'cheap-deals' }))).toEqual([]);
    });

    it('a [#T-n] number in the subject appends to that ticket when its customer writes; a stranger\'s opens a new ticket, and the admin API says why', async () => {
      it_ = await shipped({ admin: { token: 't0ken' } } as never, Date.parse('2026-11-20T11:02:00Z'));
      await postMeru(sample('meru/email.new-request', (e) => (e.headers.cc = '"Doe, Ann" <Ann.Doe@client.example>')));
      await it_.hl.worker.drain();
      const [ticket] = await tickets();
      // The customer, with a display name the old regex could not read, names the ticket.
      await postMeru(sample('meru/email.reply', (e) => {
        e.timestamp = '2026-11-20T11:02:00Z';
        e.headers.from = '"Lee, Jordan \\"JL\\"" <jordan.lee@client.example>';
        e.headers.in_reply_to = e.headers.references = null;
        e.headers.subject = `Re: [#T-${ticket!.id}] wrong VAT`;
      }));
      // A stranger names it too: a new ticket, not a message on Jordan's.
      await postMeru(sample('meru/email.with-pdf', (e) => {
        e.timestamp = '2026-11-20T11:02:00Z';
        e.headers.subject = `Re: [#T-${ticket!.id}] signed contract`;
      }));
      // Ann, in Cc of the first email, takes part: her reply joins.
      await postMeru(sample('meru/email.reply', (e) => {
        e.event_id = 'evt_ann_reply';
        e.timestamp = '2026-11-20T11:02:00Z';
        e.headers.from = '=?UTF-8?Q?Ann_Doe?= <ann.doe@client.example>';
        e.headers.message_id = '<ann-1@client.example>';
      }));
      await it_.hl.worker.drain();
      const all = await tickets();
      expect(all).toHaveLength(2);
      const detail = (await it_.hl.store.read.ticket(ticket!.id))!;
      expect(detail.messages.map((m) => [m.from, m.threading])).toEqual([
        ['jordan.lee@client.example', 'new ticket'],
        ['jordan.lee@client.example', `appended to T-${ticket!.id} (subject [#T-${ticket!.id}])`],
        ['ann.doe@client.example', `appended to T-${ticket!.id} (replies to <CAF2k1m3@mail.client.example>)`],
      ]);
      const other = all.find((t) => t.id !== ticket!.id)!;
      expect(other.customer.email).toBe('ap@supplier.example');
      const shown = await send(`${it_.hl.url}/admin/tickets/T-${other.id}`, { method: 'GET', headers: { authorization: 'Bearer t0ken' } });
      expect(shown.json.messages[0].threading).toBe(`refused: sender ap@supplier.example is not a participant of T-${ticket!.id} (subject [#T-${ticket!.id}])`);
      const first = await send(`${it_.hl.url}/admin/tickets/T-${ticket!.id}`, { method: 'GET', headers: { authorization: 'Bearer t0ken' } });
      expect(first.json.participants).toEqual(['ann.doe@client.example', 'jordan.lee@client.example']);
    });

    it('a 10 MB attachment is saved to disk by hash and listed, never stored as base64, and the ack stays fast', async () => {
      it_ = await shipped({}, Date.parse('2026-11-20T13:05:00Z'));
      const big = Buffer.alloc(10 * 1024 * 1024 - 1024);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
      const content = big.toString('base64');
      const answer = await postMeru(sample('meru/email.with-pdf', (e) => {
        e.attachments[0].content = content;
        e.attachments[0].size_bytes = big.length;
        e.attachments.push({ filename: '../../etc/passwd', content_type: 'text/plain', size_bytes: 5, content: Buffer.from('hello').toString('base64'), content_id: null });
      }));
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(2_000);
      await it_.hl.worker.drain();
      const [ticket] = await tickets();
      const [message] = (await it_.hl.store.read.ticket(ticket!.id))!.messages;
      const sha = createHash('sha256').update(big).digest('hex');
      expect(message!.attachments).toEqual([
        { filename: 'contract-signed.pdf', contentType: 'application/pdf', size: big.length, sha256: sha, saved: true, contentId: null },
        { filename: 'passwd', contentType: 'text/plain', size: 5, sha256: createHash('sha256').update('hello').digest('hex'), saved: true, contentId: null },
      ]);
      expect(readFileSync(attachmentPath(it_.hl.config.attachments, sha)).equals(big)).toBe(true);
      // The database holds no base64 of it: search the store itself for a stretch of the content.
      const probe = content.slice(5_000, 5_064);
      if (backend.name === 'sqlite') {
        const db = readFileSync(`${it_.dir}/hookline.db`);
        const wal = existsSync(`${it_.dir}/hookline.db-wal`) ? readFileSync(`${it_.dir}/hookline.db-wal`) : Buffer.alloc(0);
        expect(db.includes(probe) || wal.includes(probe)).toBe(false);
      } else {
        // Every row of every table of the schema, as text (a whole-row cast covers every column).
        const tables = await it_.db.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
        expect(tables.length).toBeGreaterThan(5);
        for (const { name } of tables) {
          const [row] = await it_.db.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}" t WHERE strpos(t::text, $1) > 0`, [probe]);
          expect({ table: name, rows: Number(row!.n) }).toEqual({ table: name, rows: 0 });
        }
      }
    });

    it('per-attachment and per-email limits: larger files are listed but not saved', async () => {
      it_ = await shipped({ sources: { meru: { attachment_limit: 1000, email_attachments_limit: 1500 } } } as never, Date.parse('2026-11-20T13:05:00Z'));
      const part = (n: number, name: string) => ({ filename: name, content_type: 'application/octet-stream', size_bytes: n, content: Buffer.alloc(n, 7).toString('base64'), content_id: null });
      await postMeru(sample('meru/email.with-pdf', (e) => (e.attachments = [part(900, 'a.bin'), part(2000, 'b.bin'), part(900, 'c.bin'), part(500, 'd.bin'), { ...part(10, 'e.bin'), content: '%%%not base64%%%' }])));
      await it_.hl.worker.drain();
      const [ticket] = await tickets();
      const attachments = (await it_.hl.store.read.ticket(ticket!.id))!.messages[0]!.attachments;
      expect(attachments.map((a) => [a.filename, a.saved, a.reason ?? null])).toEqual([
        ['a.bin', true, null],
        ['b.bin', false, 'larger than attachment_limit (1000 bytes)'],
        ['c.bin', false, 'over email_attachments_limit (1500 bytes for one email)'],
        ['d.bin', true, null],
        ['e.bin', false, 'content is not base64'],
      ]);
    });
  });

  describe('listing tickets', () => {
    it('the admin API and `hookline tickets` list them, with messages and attachment metadata', async () => {
      it_ = await shipped({ admin: { token: 't0ken' } } as never, Date.parse('2026-11-20T11:02:00Z'));
      await postMeru(sample('meru/email.new-request'));
      await it_.hl.worker.drain();
      const auth = { authorization: 'Bearer t0ken' };
      const list = await send(`${it_.hl.url}/admin/tickets`, { method: 'GET', headers: auth });
      expect(list.json.tickets).toEqual([expect.objectContaining({ number: 'T-1', subject: 'Invoice INV-2291 shows the wrong VAT rate', message_count: 1, customer: { id: 1, email: 'jordan.lee@client.example', name: 'Jordan Lee' } })]);
      const one = await send(`${it_.hl.url}/admin/tickets/T-1`, { method: 'GET', headers: auth });
      expect(one.json.messages[0].attachments).toEqual([expect.objectContaining({ filename: 'invoice-screenshot.png', content_type: 'image/png', saved: true })]);
      expect(JSON.stringify(one.json)).not.toContain('iVBORw0KGgo'); // metadata, never the content
      expect((await send(`${it_.hl.url}/admin/tickets/T-99`, { method: 'GET', headers: auth })).status).toBe(404);
      expect((await send(`${it_.hl.url}/admin/summaries`, { method: 'GET', headers: auth })).json).toEqual({ summaries: [] });

      const { execFile } = await import('node:child_process');
      const { promisify } = await import('node:util');
      const { writeChildConfig, bin } = await import('../helpers/child.ts');
      writeChildConfig(it_.dir, '', it_.hl.config.store.url);
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'tickets'], { cwd: it_.dir });
      expect(stdout).toMatch(/T-1\s+open\s+\S+ \S+\s+1\s+jordan\.lee@client\.example\s+Invoice INV-2291/);
      const shown = await promisify(execFile)(process.execPath, [bin, 'tickets', 'T-1'], { cwd: it_.dir });
      expect(shown.stdout).toContain('invoice-screenshot.png (image/png, 70 bytes, sha256 ');
    });
  });
});
