import { describe, expect, it } from 'vitest';
import { sanitizeContentType, sanitizeFilename, storeAttachments } from '../../src/domain/attachments.ts';
import { emailOf, messageIds, parseAddress } from '../../src/domain/emails.ts';
import { tempDir } from '../helpers/env.ts';

// What hookline reads from a MERU email, and what it shows operators of it: addresses parsed as
// RFC 5322 says (not by a regex), attachment names and types that cannot carry control characters.

describe('parseAddress', () => {
  it.each([
    ['Jordan Lee <jordan.lee@client.example>', 'jordan.lee@client.example', 'Jordan Lee'],
    ['"Lee, Jordan" <jordan.lee@client.example>', 'jordan.lee@client.example', 'Lee, Jordan'],
    ['"Jordan \\"JJ\\" Lee" <jj@client.example>', 'jj@client.example', 'Jordan "JJ" Lee'],
    ['"<ceo@acme.example>" <mallory@evil.example>', 'mallory@evil.example', '<ceo@acme.example>'],
    ['=?UTF-8?B?w4lsb2RpZSBEdXBvbnQ=?= <elodie@client.example>', 'elodie@client.example', 'Élodie Dupont'],
    ['=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@client.example>', 'jorg@client.example', 'Jörg Müller'],
    ['jordan.lee@client.example (Jordan Lee)', 'jordan.lee@client.example', 'Jordan Lee'],
    ['jordan.lee@client.example', 'jordan.lee@client.example', null],
    ['<jordan.lee@client.example>', 'jordan.lee@client.example', null],
    ['Jordan Lee <jordan.lee@client.example>, Ann <ann@client.example>', 'jordan.lee@client.example', 'Jordan Lee'],
  ])('%s', (header, address, name) => {
    expect(parseAddress(header)).toEqual({ address, name });
  });

  it('strips bidi overrides and control characters from the display name', () => {
    expect(parseAddress('"Ann\u202Etxt.exe\r\nBcc: x" <ann@client.example>')).toEqual({ address: 'ann@client.example', name: 'Anntxt.exe Bcc: x' });
  });

  it('gives no address for what is not one: no @, spaces, over 254 characters', () => {
    for (const header of ['', '   ', 'Jordan Lee', '<>', '"unterminated <a@b.example>', `${'a'.repeat(250)}@client.example`, 42, null]) {
      expect(parseAddress(header).address, JSON.stringify(header)).toBeNull();
    }
  });
});

describe('messageIds', () => {
  it('reads the ids of a header, ignoring what cannot be one (too long for any index, not ASCII)', () => {
    expect(messageIds('<a@x.example> <b@y.example>')).toEqual(['<a@x.example>', '<b@y.example>']);
    expect(messageIds(`<${'x'.repeat(10_000)}@x.example> <ok@x.example>`)).toEqual(['<ok@x.example>']);
    expect(messageIds('<é@x.example>')).toEqual([]);
    expect(messageIds(`bare-${'x'.repeat(10_000)}`)).toEqual([]);
  });
});

describe('emailOf', () => {
  const event = (headers: Record<string, unknown>, envelope: Record<string, unknown> = { mail_from: 'bounce@client.example', rcpt_to: ['support@inbound.example'] }) => ({
    headers: { subject: 'Hi', ...headers },
    envelope,
    content: { text: 'hello' },
  });

  it('takes the sender from From, else from the envelope; recipients from To and Cc, lower-cased, groups opened', () => {
    const email = emailOf(
      event({
        from: '"Lee, Jordan" <Jordan.Lee@Client.example>',
        to: 'Support <SUPPORT@inbound.example>, "Doe, Ann" <ann@client.example>',
        cc: 'Team: bob@client.example, carol@client.example;, not an address',
      }),
    );
    expect(email).toMatchObject({ from: 'Jordan.Lee@Client.example', fromName: 'Lee, Jordan' });
    // The address the email was delivered to (hookline's own inbox) is not a recipient of the ticket.
    expect(email.recipients).toEqual(['ann@client.example', 'bob@client.example', 'carol@client.example']);
    expect(emailOf(event({ from: 'no address here' })).from).toBe('bounce@client.example');
    expect(emailOf(event({ from: null }, { mail_from: `${'x'.repeat(300)}@a.example` })).from).toBe('unknown');
  });

  it('shows attachment metadata of events stored before it was cleaned on receipt, cleaned', () => {
    const email = emailOf({
      ...event({ from: 'a@client.example' }),
      attachments: [{ filename: 'invoice\u202Efdp.exe', content_type: 'text/html\r\nX-Injected: 1', size_bytes: 5, sha256: null, saved: false, content_id: 'x\r\ny' }],
    });
    expect(email.attachments[0]).toMatchObject({ filename: 'invoicefdp.exe', contentType: 'application/octet-stream', contentId: 'xy' });
  });
});

describe('attachment metadata shown to operators', () => {
  it('file names lose bidi overrides and isolates, marks, control characters and CR/LF', () => {
    expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFilename('\u2066a\u2067b\u2068c\u2069d\u200Ee\u200Ff\u202Ag\u202Bh\u202Ci\u202Dj.txt')).toBe('abcdefghij.txt');
    expect(sanitizeFilename('report\r\nSet-Cookie: x.pdf')).toBe('reportSet-Cookie_ x.pdf');
    expect(sanitizeFilename('a\u0000b\u0007c\u007fd\u0085e\u2028f.txt')).toBe('abcdef.txt');
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('\u202E')).toBe('attachment');
  });

  it('content types keep a sane type/subtype (lower-cased, without parameters), else application/octet-stream', () => {
    expect(sanitizeContentType('image/PNG')).toBe('image/png');
    expect(sanitizeContentType('text/plain; charset="utf-8"')).toBe('text/plain');
    expect(sanitizeContentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    for (const bad of ['text/html\r\nX-Injected: 1', 'text/\u202Ehtml', 'image', 'image/png/x', '<script>/x', '', ' / ', 42, null, `a/${'b'.repeat(200)}`]) {
      expect(sanitizeContentType(bad), JSON.stringify(bad)).toBe('application/octet-stream');
    }
  });

  it('are stored cleaned when an email is received', async () => {
    const temp = tempDir();
    try {
      const stored = await storeAttachments(
        { attachments: [{ filename: 'photo\u202Egnp.js', content_type: 'image/png\r\nContent-Disposition: inline', size_bytes: 5, content: Buffer.from('hello').toString('base64'), content_id: null }] },
        { dir: temp.dir, perAttachment: 1000, perEmail: 1000 },
      );
      expect(stored.attachments).toEqual([expect.objectContaining({ filename: 'photognp.js', content_type: 'application/octet-stream', saved: true })]);
    } finally {
      temp.cleanup();
    }
  });
});
