import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachmentPath } from '../../src/domain/attachments.ts';
import { createSource } from '../../src/sources/index.ts';

// MERU's receive-time hook: attachments (base64 in the JSON) go to disk before the event is stored.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('meru prepare', () => {
  it('saves attachments under the source\'s limits and stores only their metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hl-meru-'));
    dirs.push(dir);
    const scheme = createSource('meru', { attachment_limit: '8b' });
    const small = Buffer.from('%PDF-1');
    const large = Buffer.from('0123456789');
    const event = {
      event_id: 'evt_1',
      attachments: [
        { filename: 'a.pdf', content_type: 'application/pdf', size_bytes: small.length, content: small.toString('base64') },
        { filename: 'big.bin', content_type: 'application/octet-stream', size_bytes: large.length, content: large.toString('base64') },
      ],
    };
    const stored = JSON.parse(await scheme.prepare!({ event, raw: JSON.stringify(event), attachmentsDir: dir })) as { attachments: Array<Record<string, unknown>> };
    expect(stored.attachments.map((a) => [a.filename, a.saved])).toEqual([['a.pdf', true], ['big.bin', false]]);
    expect(JSON.stringify(stored)).not.toContain(small.toString('base64'));
    expect(readFileSync(attachmentPath(dir, stored.attachments[0]!.sha256 as string))).toEqual(small);
  });

  it('keeps the raw text when there is nothing to save, and writes nothing', async () => {
    const dir = join(tmpdir(), `hl-meru-none-${process.pid}`);
    const raw = '{"event_id":"evt_2","attachments":[]}';
    expect(await createSource('meru', {}).prepare!({ event: JSON.parse(raw), raw, attachmentsDir: dir })).toBe(raw);
    expect(existsSync(dir)).toBe(false);
    expect(createSource('muro', {}).prepare).toBeUndefined();
  });
});
