import { addressParser } from 'postal-mime';
import { displayText, sanitizeContentId, sanitizeContentType, sanitizeFilename, type AttachmentMeta } from './attachments.ts';
import type { TicketAttachment } from '../store/types.ts';

/**
 * What a ticket needs from a MERU email (its payload is documented, see seeds/meru-webhooks.txt).
 * Used as the defaults of `ticket.create`, whose arguments can override each field.
 */
export interface Email {
  from: string;
  fromName: string | null;
  /**
   * Addresses in To and Cc, lower-cased, groups opened, without the addresses the email was
   * delivered to (`envelope.rcpt_to`: hookline's own inbox, not a person taking part).
   */
  recipients: string[];
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  /** In-Reply-To first, then References, without duplicates. */
  replyTo: string[];
  attachments: TicketAttachment[];
}

/**
 * An address hookline keeps (RFC 5321 caps a path at 254 characters): something@something, no
 * whitespace, controls, angle brackets or quotes left over from a header the parser could not read.
 */
const plausibleAddress = /^[^\s@<>"\p{Cc}]+@[^\s@<>"\p{Cc}]+$/u;

function addressOrNull(value: string | undefined): string | null {
  const address = value?.trim() ?? '';
  return address.length <= 254 && plausibleAddress.test(address) ? address : null;
}

interface Mailbox {
  address: string;
  name: string | null;
}

/** Every mailbox of an address header (RFC 5322: quoted names, comments, groups, encoded words). */
export function mailboxes(header: unknown): Mailbox[] {
  if (typeof header !== 'string' || header.trim() === '') return [];
  const out: Mailbox[] = [];
  for (const entry of addressParser(header, { flatten: true })) {
    const address = addressOrNull('address' in entry ? entry.address : undefined);
    const name = displayText(entry.name ?? '').trim().slice(0, 200);
    if (address) out.push({ address, name: name === '' ? null : name });
  }
  return out;
}

/** `"Lee, Jordan" <jordan.lee@client.example>` → its (first) address and display name. */
export function parseAddress(header: unknown): { address: string | null; name: string | null } {
  return mailboxes(header)[0] ?? { address: null, name: null };
}

/**
 * Message-IDs in a header: "<a@x> <b@y>" → ["<a@x>", "<b@y>"]. An id is printable ASCII (RFC 5322)
 * and at most 998 characters (its line limit): anything else is no id, and cannot break an index.
 */
export function messageIds(header: unknown): string[] {
  if (typeof header !== 'string') return [];
  const ids = header.match(/<[\x21-\x3b\x3d\x3f-\x7e]{1,996}>/g);
  if (ids) return ids;
  const bare = header.trim();
  return /^[\x21-\x7e]{1,998}$/.test(bare) ? [bare] : [];
}

/** A ticket number written in a subject: "Re: [#T-123] Invoice" → 123. */
export function ticketNumber(subject: string): number | undefined {
  const m = /\[#T-(\d{1,12})\]/i.exec(subject);
  return m ? Number(m[1]) : undefined;
}

export function emailOf(event: Record<string, unknown>): Email {
  const headers = (event.headers ?? {}) as Record<string, unknown>;
  const envelope = (event.envelope ?? {}) as Record<string, unknown>;
  const content = (event.content ?? {}) as Record<string, unknown>;
  const from = parseAddress(headers.from);
  const deliveredTo = new Set((Array.isArray(envelope.rcpt_to) ? envelope.rcpt_to : [envelope.rcpt_to]).flatMap((r) => mailboxes(r)).map((m) => m.address.toLowerCase()));
  const recipients = [...new Set([...mailboxes(headers.to), ...mailboxes(headers.cc)].map((m) => m.address.toLowerCase()))].filter((a) => !deliveredTo.has(a));
  // Events stored before attachment metadata was cleaned on receipt are cleaned here.
  const attachments = Array.isArray(event.attachments) ? (event.attachments as AttachmentMeta[]).filter((a) => typeof a === 'object' && a !== null) : [];
  return {
    from: from.address ?? parseAddress(envelope.mail_from).address ?? 'unknown',
    fromName: from.name,
    recipients,
    subject: typeof headers.subject === 'string' ? headers.subject : '(no subject)',
    text: typeof content.text === 'string' ? content.text : '',
    html: typeof content.html === 'string' ? content.html : null,
    messageId: messageIds(headers.message_id)[0] ?? null,
    replyTo: [...new Set([...messageIds(headers.in_reply_to), ...messageIds(headers.references)])],
    attachments: attachments.map((a) => ({
      filename: sanitizeFilename(a.filename),
      contentType: sanitizeContentType(a.content_type),
      size: typeof a.size_bytes === 'number' ? a.size_bytes : 0,
      sha256: a.sha256 ?? null,
      saved: a.saved === true,
      ...(a.reason ? { reason: displayText(String(a.reason)) } : {}),
      contentId: sanitizeContentId(a.content_id),
    })),
  };
}
