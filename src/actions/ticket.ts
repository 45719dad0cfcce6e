import { z } from 'zod';
import { emailOf, parseAddress, ticketNumber } from '../domain/emails.ts';
import { threadEmail } from '../domain/ticket-threading.ts';
import type { ActionDefinition } from './types.ts';

type Args = { from?: string | undefined; subject?: string | undefined; text?: string | undefined; html?: string | null | undefined };

/**
 * Built in: opens a ticket from an inbound email, or appends the email to the ticket it answers
 * (In-Reply-To / References, or a [#T-n] number in the subject) when its sender takes part in that
 * ticket (domain/ticket-threading.ts). Its defaults come from the MERU email that triggered the run;
 * arguments override them. Attachments were saved on receipt.
 */
export const ticketCreate: ActionDefinition<Args> = {
  name: 'ticket.create',
  description: 'open a ticket from an email, or append to the ticket it replies to',
  args: () =>
    z
      .object({
        from: z.string().optional().meta({ description: 'the customer: an address or "Name <address>" (default: the sender)' }),
        subject: z.string().optional(),
        text: z.string().optional(),
        html: z.string().nullable().optional(),
      })
      .strict()
      .default({}),
  execute: async (args, ctx) => {
    const email = emailOf(ctx.event);
    const from = args.from ? parseAddress(args.from) : { address: email.from, name: email.fromName };
    const subject = args.subject ?? email.subject;
    const input = {
      idempotencyKey: ctx.idempotencyKey,
      eventSeq: Number(ctx.event.seq ?? 0),
      receivedAt: Date.parse(String(ctx.event.received_at)) || ctx.clock.now(),
      from: from.address ?? email.from,
      fromName: from.name ?? email.fromName,
      recipients: email.recipients,
      subject,
      text: args.text ?? email.text,
      html: args.html === undefined ? email.html : args.html,
      messageId: email.messageId,
      replyTo: email.replyTo,
      ticketNumber: ticketNumber(subject),
      attachments: email.attachments,
    };
    ctx.trace.request = { ...input, text: input.text.slice(0, 500), html: input.html ? `${input.html.length} characters` : null };
    const result = await ctx.records.tickets.record(input, ctx.clock.now(), threadEmail);
    return { ticket: `T-${result.ticketId}`, id: result.ticketId, created: result.created, customer_id: result.customerId, threading: result.threading, attachments: email.attachments.length };
  },
  preview: (args) => args,
  fake: () => ({ ticket: 'T-1', id: 1, created: true, customer_id: 1, threading: 'new ticket', attachments: 0 }),
};
