import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * MERU sends attachments as base64 inside the JSON. On receipt hookline decodes them and saves each
 * to the attachments folder under its SHA-256 (written, fsynced, then renamed into place), and the
 * stored event keeps only metadata: base64 never reaches the database. This runs before the event's
 * transaction, so an acknowledged email's files are on disk; a crash in between leaves at most an
 * unreferenced file, never a reference without its file.
 */

export interface AttachmentLimits {
  dir: string;
  /** Largest single attachment saved (bytes). */
  perAttachment: number;
  /** Most attachment bytes saved for one email. */
  perEmail: number;
}

/** What the stored event keeps of each attachment. */
export interface AttachmentMeta {
  filename: string;
  content_type: string;
  /** Bytes after decoding (or MERU's size_bytes when it was not saved). */
  size_bytes: number;
  content_id: string | null;
  sha256: string | null;
  saved: boolean;
  /** Why it was not saved. */
  reason?: string;
}

const base64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

/**
 * Characters that change how the text around them is shown, or are not text at all: C0 and C1
 * controls (CR/LF among them), DEL, the line and paragraph separators, and the bidi marks, embeddings,
 * overrides and isolates (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), with which
 * "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
 */
const unsafeCharacters = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

/** Text from an email fit to show an operator on one line: the characters above removed. */
export function displayText(text: string): string {
  return text.replace(unsafeCharacters, '');
}

/** A file name fit to show and to offer for download: no directories, no control or bidi characters, bounded. */
export function sanitizeFilename(name: unknown): string {
  const text = displayText(typeof name === 'string' ? name : '');
  const base = text.split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^\.+/, '_')
    .trim()
    .slice(0, 200);
  return clean === '' ? 'attachment' : clean;
}

/** RFC 6838 restricted names: `type/subtype`, each a letter or digit then up to 126 of these. */
const mediaType = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A content type fit to show: its `type/subtype`, lower-cased, without parameters; anything else is application/octet-stream. */
export function sanitizeContentType(value: unknown): string {
  const type = typeof value === 'string' ? (value.split(';')[0] ?? '').trim().toLowerCase() : '';
  return mediaType.test(type) ? type : 'application/octet-stream';
}

/** A Content-ID fit to show, or null. */
export function sanitizeContentId(value: unknown): string | null {
  const id = typeof value === 'string' ? displayText(value).trim().slice(0, 500) : '';
  return id === '' ? null : id;
}

export function attachmentPath(dir: string, sha256: string): string {
  return join(dir, sha256.slice(0, 2), sha256);
}

/** Replaces each attachment's `content` with metadata, saving what may be saved. Returns the new event. */
export async function storeAttachments(event: Record<string, unknown>, limits: AttachmentLimits): Promise<Record<string, unknown>> {
  const list = Array.isArray(event.attachments) ? (event.attachments as Array<Record<string, unknown>>) : [];
  if (list.length === 0) return event;
  // Spam creates nothing: its attachments are described, not saved.
  const spam = (event.spam as { verdict?: unknown } | undefined)?.verdict === 'spam';
  let budget = limits.perEmail;
  const attachments: AttachmentMeta[] = [];
  for (const item of list) {
    const { content, ...rest } = item;
    const meta: AttachmentMeta = {
      filename: sanitizeFilename(rest.filename),
      content_type: sanitizeContentType(rest.content_type),
      size_bytes: typeof rest.size_bytes === 'number' ? rest.size_bytes : 0,
      content_id: sanitizeContentId(rest.content_id),
      sha256: null,
      saved: false,
    };
    attachments.push(meta);
    if (spam) {
      meta.reason = 'spam: not saved';
      continue;
    }
    if (typeof content !== 'string' || !base64.test(content)) {
      meta.reason = 'content is not base64';
      continue;
    }
    // Decoded size, known before decoding: 3 bytes per 4 characters, less the padding.
    const size = Math.floor((content.replace(/\s/g, '').length * 3) / 4) - (content.trimEnd().endsWith('==') ? 2 : content.trimEnd().endsWith('=') ? 1 : 0);
    if (size > limits.perAttachment) {
      meta.size_bytes = size;
      meta.reason = `larger than attachment_limit (${limits.perAttachment} bytes)`;
      continue;
    }
    if (size > budget) {
      meta.size_bytes = size;
      meta.reason = `over email_attachments_limit (${limits.perEmail} bytes for one email)`;
      continue;
    }
    const bytes = Buffer.from(content, 'base64');
    budget -= bytes.length;
    meta.size_bytes = bytes.length;
    meta.sha256 = createHash('sha256').update(bytes).digest('hex');
    await saveFile(limits.dir, meta.sha256, bytes);
    meta.saved = true;
  }
  return { ...event, attachments };
}

async function saveFile(dir: string, sha256: string, bytes: Buffer): Promise<void> {
  const path = attachmentPath(dir, sha256);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === bytes.length) {
    // Same content, already saved: touched, so that the pruner (which deletes old unreferenced files) sees it in use again.
    const now = new Date();
    await utimes(path, now, now).catch(() => {});
    return;
  }
  await mkdir(join(dir, sha256.slice(0, 2)), { recursive: true });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o640);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path).catch(async (error: unknown) => {
    await unlink(temporary).catch(() => {});
    throw error;
  });
}
