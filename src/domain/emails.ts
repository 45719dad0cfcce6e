import type { AttachmentMeta } from './attachments.ts';
import type { TicketAttachment } from '../store/types.ts';

/**
 * What a ticket needs from a MERU email (its payload is documented, see seeds/meru-webhooks.txt).
 * Used as the defaults of `ticket.create`, whose arguments can override each field.
 */
export interface Email {
  from: string;
  fromName: string | null;
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  /** In-Reply-To first, then References, without duplicates. */
  replyTo: string[];
  attachments: TicketAttachment[];
}

/** "Jordan Lee <jordan.lee@client.example>" → name and address. */
export function parseAddress(header: unknown): { address: string | null; name: string | null } {
  if (typeof header !== 'string' || header.trim() === '') return { address: null, name: null };
  const angle = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(header);
  if (angle) return { address: angle[2]!.trim(), name: angle[1]!.trim() || null };
  return { address: header.trim(), name: null };
}

/** Message-IDs in a header: "<a@x> <b@y>" → ["<a@x>", "<b@y>"]. */
export function messageIds(header: unknown): string[] {
  if (typeof header !== 'string') return [];
  return header.match(/<[^<>\s]+>/g) ?? (header.trim() ? [header.trim()] : []);
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
  const attachments = Array.isArray(event.attachments) ? (event.attachments as AttachmentMeta[]) : [];
  return {
    from: from.address ?? (typeof envelope.mail_from === 'string' ? envelope.mail_from : 'unknown'),
    fromName: from.name,
    subject: typeof headers.subject === 'string' ? headers.subject : '(no subject)',
    text: typeof content.text === 'string' ? content.text : '',
    html: typeof content.html === 'string' ? content.html : null,
    messageId: messageIds(headers.message_id)[0] ?? null,
    replyTo: [...new Set([...messageIds(headers.in_reply_to), ...messageIds(headers.references)])],
    attachments: attachments.map((a) => ({
      filename: a.filename,
      contentType: a.content_type,
      size: a.size_bytes,
      sha256: a.sha256 ?? null,
      saved: a.saved === true,
      ...(a.reason ? { reason: a.reason } : {}),
      contentId: a.content_id ?? null,
    })),
  };
}
